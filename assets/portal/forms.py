"""Portal forms. They validate what people type; state changes go through assets.actions."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Lower, NullIf

from assets import actions, facets
from assets.actions import bulk
from assets.actions import collections as collection_actions
from assets.actions.permissions import filing_refusal
from assets.archives import is_zip
from assets.collections import shareable_teams
from assets.models import EDIT_ROLES, Asset, Collection, Role, ShareRole, Status, Team, Visibility
from assets.tags import MAX_TAGS, normalise_tags

# Media types the library can filter by. The model does not enumerate them; extend this as ingest
# learns new kinds of media.
MEDIA_TYPE_CHOICES = [("image", "Images"), ("video", "Videos"), ("audio", "Audio"), ("document", "Documents (PDF)")]


def teams_of(user):
    """Teams whose assets a person works with (all of them for a superuser)."""
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user)


def editor_teams_of(user):
    """Teams a person may file assets under: editor or manager role (all of them for a superuser)."""
    if user.is_superuser:
        return Team.objects.all()
    return Team.objects.filter(memberships__user=user, memberships__role__in=EDIT_ROLES)


class TagsField(forms.CharField):
    """Comma-separated text in, a normalised list out (the same rules as the API)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text", f"Separate tags with commas, e.g. “kayak, lake, summer”. At most {MAX_TAGS}."
        )
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, (list, tuple)):
            return ", ".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        try:
            return normalise_tags(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


# What the file picker offers; the server decides from the bytes (assets.filetypes) whatever is picked.
ACCEPTED_FILES = "image/*,.heic,.heif,video/*,.mkv,audio/*,.flac,.opus,application/pdf,.pdf,.zip"


class MultipleFileField(forms.FileField):
    """A file field that accepts several files (the pattern from Django's documentation)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPTED_FILES, "class": "file-input"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            files = [single(item, initial) for item in data if item]
            if not files and self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return files
        return [single(data, initial)] if data else []


def _check_team_and_visibility(form: forms.Form, team, visibility) -> None:
    if visibility == Visibility.TEAM and team is None:
        form.add_error("team", "Choose a team for team visibility.")


class UploadForm(forms.Form):
    files = MultipleFileField(
        label="Files",
        help_text="Photos (JPEG, PNG, WebP, GIF, TIFF, HEIC/HEIF), videos (MP4, MOV, WebM, MKV), sound (MP3, M4A, WAV, "
                  "FLAC, Ogg), PDF documents, or zip archives of them. Choose several at once.",
        # An empty file is a per-file rejection ("file is empty"), not a form error.
        allow_empty_file=True,
        error_messages={"required": "Choose at least one file to upload."},
    )
    title = forms.CharField(
        max_length=255, required=False, help_text="Used only when you upload a single file; otherwise each "
        "file is titled from its name."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = TagsField()
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), required=False, empty_label="No team",
        help_text="Only teams where you are an editor or manager.",
    )
    visibility = forms.ChoiceField(
        choices=Visibility.choices, initial=Visibility.PRIVATE,
        help_text="Team visibility needs a team.",
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = editor_teams_of(user).order_by("name")

    def clean(self):
        cleaned = super().clean()
        _check_team_and_visibility(self, cleaned.get("team"), cleaned.get("visibility"))
        files = cleaned.get("files") or []
        # A title names one picture; for several files (or an archive) each is titled from its name.
        cleaned["single_file"] = len(files) == 1 and not is_zip(files[0])
        return cleaned

    def options(self) -> actions.AssetOptions:
        """Upload options from a valid form; the caller still runs actions.check_options on them."""
        data = self.cleaned_data
        return actions.AssetOptions(
            title=data["title"] if data["single_file"] else "",
            description=data["description"],
            tags=data["tags"],
            team=data["team"],
            visibility=data["visibility"],
        )

    @property
    def title_ignored(self) -> bool:
        return bool(self.cleaned_data.get("title")) and not self.cleaned_data.get("single_file")


class AssetEditForm(forms.ModelForm):
    tags = TagsField()

    class Meta:
        model = Asset
        fields = ["title", "description", "tags", "visibility", "team"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}
        help_texts = {"visibility": "Team visibility needs a team."}

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.user = user
        teams = editor_teams_of(user)
        if self.instance.team_id:
            # Keep the current team selectable even where this person is not one of its editors.
            teams = teams | Team.objects.filter(pk=self.instance.team_id)
        self.fields["team"].queryset = teams.distinct().order_by("name")
        self.fields["team"].empty_label = "No team"

    def clean(self):
        cleaned = super().clean()
        team, visibility = cleaned.get("team"), cleaned.get("visibility")
        _check_team_and_visibility(self, team, visibility)
        if "team" not in self.errors and team is not None and team.pk != self.instance.team_id:
            # The same rule as uploading: moving an asset into a team needs an editor role there.
            reason = filing_refusal(self.user, team, visibility)
            if reason:
                self.add_error("team", reason)
        return cleaned

    def validate_constraints(self):
        # team/visibility is checked in clean() with a readable message; the database constraint
        # would only repeat it in its own words.
        pass


class FindingCorrectionForm(forms.Form):
    """A person's correction of one analyser's finding, or a request to go back to the machine's text."""

    CORRECT, RESTORE = "correct", "restore"
    text = forms.CharField(required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 2}),
                           label="Corrected text")
    action = forms.ChoiceField(choices=[(CORRECT, "Save correction"), (RESTORE, "Restore the machine's text")],
                               initial=CORRECT)


class DateInput(forms.DateInput):
    input_type = "date"


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(required=False, label=label, widget=DateInput())


class LibraryFilterForm(forms.Form):
    """GET filters of the library (and of search). Invalid values are ignored rather than shown as errors."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    team = forms.ModelChoiceField(
        queryset=Team.objects.none(), to_field_name="slug", required=False, empty_label="Any team"
    )
    collection = forms.ModelChoiceField(queryset=Collection.objects.none(), required=False,
                                        empty_label="Any collection")
    tag = forms.CharField(required=False, max_length=500, label="Tags",
                          help_text="Comma-separated; an asset must have all of them.")
    media_type = forms.ChoiceField(
        choices=[("", "Any type"), *MEDIA_TYPE_CHOICES], required=False, label="Type"
    )
    # What the facets link to (assets.facets): the camera as "make model", a place as "City, Country"
    # (or a city or a country alone), the year a photo was taken; typed text matches where a word starts.
    camera = forms.CharField(required=False, max_length=300, label="Camera",
                             widget=forms.TextInput(attrs={"placeholder": "e.g. canon"}))
    place = forms.CharField(required=False, max_length=300, label="Place",
                            widget=forms.TextInput(attrs={"placeholder": "e.g. paris"}))
    year = forms.IntegerField(required=False, min_value=1800, max_value=2200, label="Year taken")
    taken_from = _date_field("Taken from")
    taken_to = _date_field("Taken until")
    uploaded_from = _date_field("Uploaded from")
    uploaded_to = _date_field("Uploaded until")
    mine = forms.BooleanField(required=False, label="Only mine")
    has_text = forms.BooleanField(required=False, label="Text in the picture")
    has_people = forms.BooleanField(required=False, label="People")

    DATE_RANGES = (
        ("taken_from", "taken_at__date__gte"),
        ("taken_to", "taken_at__date__lte"),
        ("uploaded_from", "created_at__date__gte"),
        ("uploaded_to", "created_at__date__lte"),
    )

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_of(user).distinct().order_by("name")
        self.fields["collection"].queryset = Collection.objects.visible_to(user).order_by("name", "id")

    def clean_tag(self):
        try:
            return normalise_tags(self.cleaned_data.get("tag"))
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def filter(self, queryset, user):
        # Only the valid parts apply (invalid fields are absent from cleaned_data): a stale link
        # with one bad value still filters by the rest.
        self.is_valid()
        data = self.cleaned_data
        if data.get("status"):
            queryset = queryset.filter(status=data["status"])
        if data.get("team"):
            queryset = queryset.filter(team=data["team"])
        if data.get("collection"):
            # A subquery, not a join: rows stay unique (search SQL relies on it).
            queryset = queryset.filter(pk__in=data["collection"].items.values("asset_id"))
        if data.get("tag"):
            queryset = queryset.filter(tags__contains=data["tag"])
        if data.get("media_type"):
            queryset = queryset.filter(media_type=data["media_type"])
        if data.get("camera", "").strip():
            queryset = facets.by_camera(queryset, data["camera"].strip())
        if data.get("place", "").strip():
            queryset = facets.by_place(queryset, data["place"].strip())
        if data.get("year") is not None:
            queryset = queryset.filter(taken_at__year=data["year"])
        for name, lookup in self.DATE_RANGES:
            if data.get(name):
                queryset = queryset.filter(**{lookup: data[name]})
        if data.get("mine"):
            queryset = queryset.filter(owner=user)
        if data.get("has_text"):
            queryset = queryset.filter(facets.has_finding(facets.TEXT_ANALYSER))
        if data.get("has_people"):
            queryset = queryset.filter(facets.has_finding(facets.FACES_ANALYSER))
        return queryset

    @property
    def active(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields)


SORTS = {
    "newest": ("Newest uploads first", [F("created_at").desc(), F("id").desc()]),
    "oldest": ("Oldest uploads first", [F("created_at").asc(), F("id").asc()]),
    "taken": ("Taken date, newest first", [F("taken_at").desc(nulls_last=True), F("id").desc()]),
    "title": ("Title, A to Z", [Lower(Coalesce(NullIf("title", Value("")), "original_filename")).asc(), "id"]),
}


class LibrarySortForm(forms.Form):
    sort = forms.ChoiceField(choices=[(key, label) for key, (label, _) in SORTS.items()], required=False,
                             label="Sort by")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def order(self, queryset):
        key = self.cleaned_data.get("sort") if self.is_valid() else ""
        return queryset.order_by(*SORTS[key or "newest"][1])


# --- Bulk actions, collections, teams --------------------------------------------------------------


class AssetIdsField(forms.Field):
    """Repeated ``asset`` values (checkboxes) -> a list of ints; anything else is a form error."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        try:
            return sorted({int(item) for item in values})
        except (TypeError, ValueError):
            raise ValidationError("The selection is not valid; reload the page and select again.") from None

    def validate(self, value):
        if not value and self.required:
            raise ValidationError("Select at least one asset first.")
        if len(value) > bulk.MAX_SELECTION:
            raise ValidationError(f"Select at most {bulk.MAX_SELECTION} assets at a time.")


BULK_ACTIONS = [
    ("add_tags", "Add tags"),
    ("remove_tags", "Remove tags"),
    ("set_visibility", "Set visibility"),
    ("move_to_team", "Move to team"),
    ("add_to_collection", "Add to collection"),
    ("reprocess", "Reprocess"),
    ("delete", "Delete…"),
]
# Which extra field each action needs.
BULK_NEEDS = {"add_tags": "tags", "remove_tags": "tags", "set_visibility": "visibility",
              "move_to_team": "team", "add_to_collection": "collection"}


class BulkForm(forms.Form):
    asset = AssetIdsField()
    action = forms.ChoiceField(choices=[("", "Choose an action…"), *BULK_ACTIONS], label="Action",
                               error_messages={"required": "Choose an action."})
    tags = TagsField(help_text="Comma-separated.")
    visibility = forms.ChoiceField(choices=[("", "Choose…"), *Visibility.choices], required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="Choose a team…")
    collection = forms.ModelChoiceField(queryset=Collection.objects.none(), required=False,
                                        empty_label="Choose a collection…")
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        kwargs.setdefault("auto_id", "bulk_%s")  # the library's filter form has fields of the same names
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = editor_teams_of(user).distinct().order_by("name")
        self.fields["collection"].queryset = Collection.objects.editable_by(user).order_by("name", "id")
        for name in ("action", "visibility", "team", "collection"):
            self.fields[name].widget.attrs["data-testid"] = f"bulk-{name}"

    def clean(self):
        cleaned = super().clean()
        needed = BULK_NEEDS.get(cleaned.get("action"))
        if needed and not cleaned.get(needed) and needed not in self.errors:
            label = {"tags": "at least one tag", "visibility": "a visibility", "team": "a team",
                     "collection": "a collection"}[needed]
            self.add_error(needed, f"Choose {label} for this action.")
        return cleaned


class CollectionNameForm(forms.Form):
    name = forms.CharField(max_length=collection_actions.MAX_NAME_LENGTH, label="Name")
    asset = AssetIdsField(required=False)  # assets to put in a new collection straight away

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_name(self):
        try:
            return collection_actions.clean_name(self.cleaned_data["name"])
        except collection_actions.CollectionError as exc:
            raise ValidationError(str(exc)) from None


class ShareForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label="Choose a team…", label="Team")
    role = forms.ChoiceField(choices=ShareRole.choices, initial=ShareRole.VIEWER, label="Members may")

    def __init__(self, *args, user, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = shareable_teams(user).order_by("name")


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username", help_text="An existing staff account.")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER, label="Role")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices, label="Role")
