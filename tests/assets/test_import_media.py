"""manage.py import_media: files, directories and zip archives from disk, one owner, safe to re-run."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assets.models import Asset, Visibility
from tests.assets.conftest import media_files
from tests.conftest import sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def photos(tmp_path):
    """A folder as people have them: photos, a broken one, a stray text file, a hidden file, a sub-folder
    with a photo and a zip archive holding a good and a bad member."""
    for relative in ("jpg/gps/DSCN0010.jpg", "jpg/Canon_40D.jpg", "tiff/Arbitro.tiff", "heic/samplefilehub.heif"):
        shutil.copy(sample(relative), tmp_path)
    good = sample("jpg/Nikon_D70.jpg").read_bytes()
    (tmp_path / "broken.jpg").write_bytes(good[: len(good) // 2])
    (tmp_path / "notes.txt").write_text("shot list\n")
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    sub = tmp_path / "2024" / "summer"
    sub.mkdir(parents=True)
    shutil.copy(sample("jpg/Nikon_D70.jpg"), sub)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pentax/Pentax_K10D.jpg", sample("jpg/Pentax_K10D.jpg").read_bytes())
        archive.writestr("pentax/readme.md", "# not a photo")
    (sub / "batch.zip").write_bytes(buffer.getvalue())
    hidden = tmp_path / ".thumbnails"
    hidden.mkdir()
    shutil.copy(sample("jpg/Sony_HDR-HC3.jpg"), hidden)
    return tmp_path


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_media", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def summary(out: str) -> str:
    return out.strip().splitlines()[-1]


def test_imports_the_top_level_of_a_folder_and_reports_rejections(photos, admin_user):
    before = media_files()

    out, err = run(photos)

    assert summary(out) == "created 4, duplicates 0, rejected 2"
    rejected = sorted(line for line in out.splitlines() if line.startswith("rejected "))
    assert len(rejected) == 2
    assert rejected[0].startswith(f"rejected {photos / 'broken.jpg'}: corrupt or truncated JPEG image")
    assert rejected[1].startswith(f"rejected {photos / 'notes.txt'}: unsupported file type")
    assets = {a.original_filename: a for a in Asset.objects.all()}
    assert set(assets) == {"DSCN0010.jpg", "Canon_40D.jpg", "Arbitro.tiff", "samplefilehub.heif"}
    assert {a.owner for a in assets.values()} == {admin_user}  # the only superuser
    assert {a.visibility for a in assets.values()} == {Visibility.PRIVATE}
    assert assets["samplefilehub.heif"].mime_type == "image/heif"
    assert media_files() - before == {a.blob.name for a in assets.values()}
    # The progress bar goes to stderr and counts the six visible top-level files.
    assert "importing" in err and "6/6" in err
    assert "importing" not in out


def test_re_running_counts_everything_as_duplicates(photos, admin_user):
    run(photos)
    stored = media_files()

    out, _ = run(photos)

    assert summary(out) == "created 0, duplicates 4, rejected 2"
    assert Asset.objects.count() == 4
    assert media_files() == stored


def test_recursive_walks_sub_folders_and_archives_but_not_hidden_ones(photos, admin_user):
    run(photos)

    out, _ = run(photos, "--recursive")

    assert summary(out) == "created 2, duplicates 4, rejected 3"
    assert f"rejected {photos / '2024' / 'summer' / 'batch.zip' / 'pentax' / 'readme.md'}: unsupported" in out
    assert set(Asset.objects.values_list("original_filename", flat=True)) == {
        "DSCN0010.jpg", "Canon_40D.jpg", "Arbitro.tiff", "samplefilehub.heif", "Nikon_D70.jpg", "Pentax_K10D.jpg",
    }


def test_single_files_and_team_visibility_tags(photos, alice, team):
    out, _ = run(
        photos / "DSCN0010.jpg", photos / "Canon_40D.jpg", "--owner", "alice", "--team", "studio",
        "--visibility", "team", "--tags", "Tuscany, holiday ,tuscany",
    )

    assert summary(out) == "created 2, duplicates 0, rejected 0"
    for asset in Asset.objects.all():
        assert (asset.owner, asset.team, asset.visibility) == (alice, team, Visibility.TEAM)
        assert asset.tags == ["tuscany", "holiday"]
        assert asset.title == asset.original_filename.rsplit(".", 1)[0]


def test_a_file_named_twice_is_imported_once(photos, alice):
    out, _ = run(photos / "Canon_40D.jpg", photos, "--owner", "alice")
    assert summary(out) == "created 4, duplicates 0, rejected 2"


def test_hostile_names_on_disk_are_rejected_and_echoed_escaped(tmp_path, alice):
    shutil.copy(sample("jpg/Canon_40D.jpg"), tmp_path / "invoice\u202egpj.exe")
    out, _ = run(tmp_path, "--owner", "alice")
    assert summary(out) == "created 0, duplicates 0, rejected 1"
    assert "\u202e" not in out
    assert "invoice\\u202egpj.exe" in out and "U+202E" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--owner", "nobody"], "no user named 'nobody'", id="unknown-owner"),
        pytest.param(["--owner", "alice", "--team", "nope"], "no team with slug 'nope'", id="unknown-team"),
        pytest.param(["--owner", "alice", "--visibility", "team"], "team visibility needs a team", id="team-no-team"),
        pytest.param(["--owner", "charlie", "--team", "studio"], "not an editor or manager of that team",
                     id="not-an-editor"),
        pytest.param(["--owner", "alice", "--visibility", "public"], "invalid choice: 'public'", id="bad-visibility"),
        pytest.param(["--owner", "alice", "--tags", ",".join(f"t{i}" for i in range(60))], "at most 50 tags",
                     id="too-many-tags"),
    ],
)
def test_bad_arguments_are_command_errors(args, message, photos, alice, charlie):
    with pytest.raises(CommandError, match=message):
        run(photos, *args)
    assert not Asset.objects.exists()


def test_missing_path_is_a_command_error(tmp_path, alice):
    with pytest.raises(CommandError, match="no such file or directory"):
        run(tmp_path / "missing", "--owner", "alice")


def test_owner_must_be_named_unless_there_is_exactly_one_superuser(photos, alice):
    with pytest.raises(CommandError, match="there is no superuser; say who owns the files with --owner"):
        run(photos)
    user_model = get_user_model()
    user_model.objects.create_superuser("root1", password="x")
    user_model.objects.create_superuser("root2", password="x")
    with pytest.raises(CommandError, match="more than one superuser"):
        run(photos)
    assert not Asset.objects.exists()


def test_inactive_owner_is_refused(photos, alice):
    alice.is_active = False
    alice.save()
    with pytest.raises(CommandError, match="not active"):
        run(photos, "--owner", "alice")


def _command_line_env() -> dict[str, str]:
    """The environment of a manage.py process that works on this session's test database and storage."""
    db = settings.DATABASES["default"]
    port = f"&port={db['PORT']}" if db["PORT"] else ""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}{port}",
        "REDIS_URL": settings.CELERY_BROKER_URL,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "MEDIAVAULT_VAR_DIR": str(settings.VAR_DIR),
    }


@pytest.mark.django_db(transaction=True)
def test_exit_codes_from_the_command_line(tmp_path, alice):
    """Rejections are reported with exit code 0; bad arguments exit non-zero. Only rejected files here, so
    the run commits no asset and sends no ingest message."""
    (tmp_path / "notes.txt").write_text("not a photo")
    (tmp_path / "empty.jpg").write_bytes(b"")

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "import_media", *args], cwd=settings.BASE_DIR, env=_command_line_env(),
            capture_output=True, text=True, timeout=60,
        )

    ok = manage(str(tmp_path), "--owner", "alice")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "created 0, duplicates 0, rejected 2"
    assert "file is empty" in ok.stdout

    unknown = manage(str(tmp_path), "--owner", "nobody")
    assert unknown.returncode == 1 and "no user named 'nobody'" in unknown.stderr
    bad_choice = manage(str(tmp_path), "--visibility", "public")
    assert bad_choice.returncode == 2 and "invalid choice" in bad_choice.stderr
