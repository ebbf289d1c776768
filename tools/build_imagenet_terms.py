"""Build workers/ml/analysers/imagenet_terms.json: for each of the 1,000 ImageNet-1k classes, its label
and a few general terms people search with ("golden retriever" -> retriever, dog, mammal, animal).

ImageNet classes are WordNet 3.0 noun synsets. This walks each class's hypernym paths and keeps the
ancestors named in TERMS below (a curated list of everyday categories; most of WordNet's chain,
"placental", "chordate", "physical entity", helps nobody find a photo), most specific first.

It needs what the runtime does not (the JSON is committed, this is only for rebuilding it):

    apt-get install wordnet-base                   # WordNet 3.0 database in /usr/share/wordnet
    pip install --target /tmp/gen-deps nltk        # its WordNet reader (not a project dependency)
    PYTHONPATH=/tmp/gen-deps .venv/bin/python tools/build_imagenet_terms.py [--check]

Sources, all offline: class index -> WordNet id (n02099601...) from timm's bundled
``imagenet_synsets.txt`` (the standard sorted order of the 1,000 ImageNet-1k synsets); the labels
from torchvision's ImageNet metadata (``EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"]``,
same order: checked below against each synset's own lemma names). ``--check`` rebuilds in memory
and fails if the committed file differs.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUTPUT = REPO / "workers" / "ml" / "analysers" / "imagenet_terms.json"
WORDNET_DIR = Path("/usr/share/wordnet")

# WordNet synset -> the general term(s) it contributes. Only these ancestors are kept.
TERMS: dict[str, list[str]] = {
    # animals
    "animal.n.01": ["animal"], "mammal.n.01": ["mammal"],
    "dog.n.01": ["dog"], "hound.n.01": ["hound"], "terrier.n.01": ["terrier"], "retriever.n.01": ["retriever"],
    "spaniel.n.01": ["spaniel"], "shepherd_dog.n.01": ["sheepdog"], "poodle.n.01": ["poodle"],
    "wild_dog.n.01": ["dog"], "wolf.n.01": ["wolf"], "fox.n.01": ["fox"], "bear.n.01": ["bear"],
    "cat.n.01": ["cat"], "big_cat.n.01": ["big cat"],
    "primate.n.02": ["primate"], "monkey.n.01": ["monkey"], "ape.n.01": ["ape"],
    "rodent.n.01": ["rodent"], "leporid.n.01": ["rabbit"], "marsupial.n.01": ["marsupial"],
    "horse.n.01": ["horse"], "cattle.n.01": ["cattle"], "sheep.n.01": ["sheep"], "swine.n.01": ["pig"],
    "elephant.n.01": ["elephant"], "whale.n.02": ["whale"], "seal.n.09": ["seal"],
    "bird.n.01": ["bird"], "bird_of_prey.n.01": ["bird of prey"], "owl.n.01": ["owl"], "parrot.n.01": ["parrot"],
    "duck.n.01": ["duck"], "goose.n.01": ["goose"], "swan.n.01": ["swan"], "penguin.n.01": ["penguin"],
    "chicken.n.02": ["chicken"], "aquatic_bird.n.01": ["water bird"], "oscine.n.01": ["songbird"],
    "fish.n.01": ["fish"], "shark.n.01": ["shark"],
    "reptile.n.01": ["reptile"], "lizard.n.01": ["lizard"], "snake.n.01": ["snake"], "turtle.n.02": ["turtle"],
    "crocodilian_reptile.n.01": ["crocodile"], "dinosaur.n.01": ["dinosaur"],
    "amphibian.n.03": ["amphibian"], "frog.n.01": ["frog"], "salamander.n.01": ["salamander"],
    "insect.n.01": ["insect"], "butterfly.n.01": ["butterfly"], "beetle.n.01": ["beetle"], "bee.n.01": ["bee"],
    "ant.n.01": ["ant"], "spider.n.01": ["spider"],
    "crustacean.n.01": ["crustacean"], "crab.n.01": ["crab"], "lobster.n.02": ["lobster"],
    "mollusk.n.01": ["mollusc"], "snail.n.01": ["snail"],
    # people
    "person.n.01": ["person"],
    # food and plants
    "food.n.01": ["food"], "food.n.02": ["food"], "dish.n.02": ["dish"], "dessert.n.01": ["dessert"],
    "bread.n.01": ["bread"], "vegetable.n.01": ["vegetable"], "edible_fruit.n.01": ["fruit"],
    "beverage.n.01": ["drink"], "fungus.n.01": ["mushroom", "fungus"], "flower.n.01": ["flower"],
    "vascular_plant.n.01": ["plant"],
    # vehicles
    "vehicle.n.01": ["vehicle"], "car.n.01": ["car"], "truck.n.01": ["truck"], "bus.n.01": ["bus", "vehicle"],
    "motorcycle.n.01": ["motorcycle"], "bicycle.n.01": ["bicycle"], "locomotive.n.01": ["train"],
    "train.n.01": ["train", "vehicle"],
    "car.n.02": ["train"], "streetcar.n.01": ["tram"], "aircraft.n.01": ["aircraft"], "airplane.n.01": ["airplane"],
    "vessel.n.02": ["boat"], "ship.n.01": ["ship"], "military_vehicle.n.01": ["military vehicle"],
    "spacecraft.n.01": ["spacecraft"],
    # buildings and places
    "building.n.01": ["building"], "house.n.01": ["house"], "place_of_worship.n.01": ["place of worship"],
    "shop.n.01": ["shop"], "bridge.n.01": ["bridge"], "fence.n.01": ["fence"],
    "geological_formation.n.01": ["landscape"], "mountain.n.01": ["mountain"], "shore.n.01": ["shore"],
    # things
    "musical_instrument.n.01": ["musical instrument"], "furniture.n.01": ["furniture"], "seat.n.03": ["seat"],
    "chair.n.01": ["chair"], "table.n.02": ["table"], "bed.n.01": ["bed"],
    "clothing.n.01": ["clothing"], "footwear.n.02": ["footwear"], "hat.n.01": ["hat"],
    "weapon.n.01": ["weapon"], "gun.n.01": ["gun"], "tool.n.01": ["tool"],
    "computer.n.01": ["computer"], "electronic_equipment.n.01": ["electronics"], "home_appliance.n.01": ["appliance"],
    "bottle.n.01": ["bottle"], "bag.n.01": ["bag"], "ball.n.01": ["ball"],
    "sports_equipment.n.01": ["sports equipment"],
    "timepiece.n.01": ["timepiece"], "toy.n.01": ["toy"], "lamp.n.01": ["lamp"], "camera.n.01": ["camera"],
    "spectacles.n.01": ["glasses"], "cooking_utensil.n.01": ["cookware"], "tableware.n.01": ["tableware"],
}

# WordNet's lexnames file, which the Debian package leaves out (its README.Debian says so) and nltk's
# reader requires: the 45 lexicographer files of WordNet 3.0, numbered 00-44 (lexnames(5WN)).
LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
    "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
    "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
    "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}

LICENCE = (
    "General terms derived from WordNet 3.0. WordNet 3.0 Copyright 2006 by Princeton University. All rights "
    "reserved. THIS SOFTWARE AND DATABASE IS PROVIDED \"AS IS\" AND PRINCETON UNIVERSITY MAKES NO REPRESENTATIONS "
    "OR WARRANTIES, EXPRESS OR IMPLIED. BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO "
    "REPRESENTATIONS OR WARRANTIES OF MERCHANTABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE OF THE "
    "LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, "
    "TRADEMARKS OR OTHER RIGHTS. (WordNet 3.0 licence: https://wordnet.princeton.edu/license-and-commercial-use)"
)


def wordnet_reader(workdir: Path):
    """nltk's reader over a copy of the Debian WordNet files plus the lexnames file it needs (nltk only
    reads corpora under directories on its data path, and refuses symlinks out of them)."""
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    if not (WORDNET_DIR / "data.noun").exists():
        sys.exit(f"no WordNet database in {WORDNET_DIR}: apt-get install wordnet-base")
    for path in WORDNET_DIR.iterdir():
        if path.name.startswith(("data.", "index.")) or path.suffix == ".exc":
            shutil.copy(path, workdir / path.name)
    (workdir / "lexnames").write_text(
        "".join(f"{number:02d}\t{name}\t{CATEGORY[name.split('.')[0]]}\n" for number, name in enumerate(LEXNAMES))
    )
    nltk.data.path.append(str(workdir))

    class Reader(WordNetCorpusReader):
        def map_wn(self, version="wordnet"):  # this is WordNet 3.0 itself: nothing to map from
            return None

    return Reader(str(workdir), None)


def imagenet_classes() -> tuple[list[str], list[str]]:
    """(wnids, labels) in class-index order, from what timm and torchvision ship."""
    import timm.data
    import torchvision

    wnids = (Path(timm.data.__file__).parent / "_info" / "imagenet_synsets.txt").read_text().split()
    labels = list(torchvision.models.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])
    if len(wnids) != 1000 or len(labels) != 1000 or wnids != sorted(wnids):
        sys.exit(f"unexpected ImageNet class lists: {len(wnids)} wnids (sorted: {wnids == sorted(wnids)}), "
                 f"{len(labels)} labels")
    return wnids, labels


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def build() -> dict:
    wnids, labels = imagenet_classes()
    with tempfile.TemporaryDirectory(prefix="wordnet-") as workdir:
        wn = wordnet_reader(Path(workdir))
        if wn.get_version() != "3.0":
            sys.exit(f"ImageNet ids are WordNet 3.0 offsets; {WORDNET_DIR} holds WordNet {wn.get_version()}")
        unknown = [name for name in TERMS if not _exists(wn, name)]
        if unknown:
            sys.exit(f"synsets in TERMS that WordNet 3.0 does not have: {unknown}")
        classes, synonyms, mismatched = [], [], []
        for index, (wnid, label) in enumerate(zip(wnids, labels, strict=True)):
            synset = wn.synset_from_pos_and_offset("n", int(wnid[1:]))
            if _norm(label) not in {_norm(lemma) for lemma in synset.lemma_names()} | {_norm(synset.definition())}:
                mismatched.append(f"{index} {label!r} / {synset.name()} {synset.lemma_names()}")
            classes.append([label, *_general_terms(synset, label)])
            synonyms.append(_synonyms(synset, label))
    # torchvision renamed a few labels (duplicates such as the two "crane"s, "maillot"); many mismatches
    # would mean the two lists are in different orders.
    if len(mismatched) > 40:
        sys.exit("labels and synsets disagree too often:\n" + "\n".join(mismatched))
    print(f"{len(mismatched)} torchvision labels are not among their synset's lemma names:", file=sys.stderr)
    for line in mismatched:
        print(f"  {line}", file=sys.stderr)
    return {
        "about": "ImageNet-1k class index -> [label, general terms...] and [other names...]; built by "
                 "tools/build_imagenet_terms.py",
        "sources": {
            "wnids": "timm/data/_info/imagenet_synsets.txt",
            "labels": "torchvision EfficientNet_B0_Weights.IMAGENET1K_V1.meta['categories']",
            "hypernyms": "WordNet 3.0 (Debian wordnet-base), read with nltk",
            "synonyms": "the same synsets' lemma names",
        },
        "licence": LICENCE,
        "wnids": wnids,
        "classes": classes,
        "synonyms": synonyms,
    }


def _synonyms(synset, label: str) -> list[str]:
    """The synset's other names ("beacon" -> lighthouse, beacon light, pharos): what the class is
    also called, in WordNet's order, without the label itself or a repeat."""
    seen, names = {_norm(label)}, []
    for lemma in synset.lemma_names():
        name = lemma.replace("_", " ")
        if _norm(name) not in seen:
            seen.add(_norm(name))
            names.append(name)
    return names


def _exists(wn, name: str) -> bool:
    try:
        wn.synset(name)
    except Exception:  # nltk raises WordNetError (or ValueError) for unknown names
        return False
    return True


def _general_terms(synset, label: str) -> list[str]:
    """The TERMS of the synset's ancestors (and of the synset itself), most specific first (deepest
    below WordNet's root on any path: "mammal" before "animal"), each once."""
    depth: dict[str, int] = {}
    for path in synset.hypernym_paths():  # root ... synset
        for level, ancestor in enumerate(path):
            if ancestor.name() in TERMS:
                depth[ancestor.name()] = max(level, depth.get(ancestor.name(), level))
    terms: list[str] = []
    for name in sorted(depth, key=lambda name: (-depth[name], name)):
        for term in TERMS[name]:
            if term not in terms and _norm(term) != _norm(label):
                terms.append(term)
    return terms


def render(data: dict) -> str:
    """One class per line, so a rebuild shows up as a readable diff."""
    head = {key: value for key, value in data.items() if key not in ("wnids", "classes")}
    lines = [json.dumps(head, ensure_ascii=False)[:-1] + ","]
    lines.append('"wnids": ' + json.dumps(data["wnids"]) + ",")
    lines.append('"classes": [')
    rows = [json.dumps(row, ensure_ascii=False) for row in data["classes"]]
    lines.append(",\n".join(rows))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the committed file differs from a rebuild")
    args = parser.parse_args(argv)
    text = render(build())
    json.loads(text)  # the hand-written layout is still JSON
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: rerun tools/build_imagenet_terms.py", file=sys.stderr)
            return 1
        print(f"{OUTPUT} is up to date")
        return 0
    OUTPUT.write_text(text)
    classes = json.loads(text)["classes"]
    bare = sum(1 for row in classes if len(row) == 1)
    print(f"wrote {OUTPUT.relative_to(REPO)}: {len(classes)} classes, {bare} without a general term")
    return 0


if __name__ == "__main__":
    sys.exit(main())
