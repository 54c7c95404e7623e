"""Container image URIs, resolved offline from a table taken from the SageMaker SDK 2.x.

The table (`images.json`) holds only the frameworks and versions this compiler supports. It is
refreshed with `python -m kernel.images --refresh` (needs the dev extra), and a test checks that
every URI we resolve equals what `sagemaker.image_uris.retrieve` resolves. A version the SDK's
table does not hold yet comes from AWS's published image list instead (`PUBLISHED`); the test
compares it with the SDK's image of the version it mirrors, the tag replaced by the one AWS's list
gives. Each entry's `tag` is a template of `{version}`, `{processor}` and `{py_version}`.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kernel.frameworks import FRAMEWORKS, SCOPES, SKLEARN_VERSION, Scope

TABLE = Path(__file__).with_name("images.json")

# What we support: framework -> image scope -> versions; "sklearn" runs preprocessing.
SUPPORTED: dict[str, dict[Scope, list[str]]] = {
    name: {scope: list(fw.versions[scope]) for scope in SCOPES} for name, fw in FRAMEWORKS.items()
} | {"sklearn": {"training": [SKLEARN_VERSION], "inference": []}}  # the SDK's 1.4-2 serves none
DLC = "https://github.com/aws/deep-learning-containers/blob"


@dataclass(frozen=True)
class Published:
    """A version SageMaker SDK 2.257.7's table lacks, from AWS's published image list: the Deep
    Learning Containers repository's docs/src/data/<repository>/<version>-<processor>-*.yml (the
    image's tags, Python, GA and end-of-patch dates).

    It is the SDK's entry for the version it `mirrors` (the same repository, registries and
    processors: the SDK gives a repository one account per region whatever the version) with a
    tag the yml lists verbatim: `tag` as a template of `{version}`, `{processor}` and
    `{py_version}`; the SDK's convention for older versions ("2.19-cpu" for TensorFlow Serving)
    is not one of the tags the ymls list for the newer ones.
    """

    mirrors: str
    tag: str
    source: str
    py_versions: tuple[str, ...] = ()


# (framework, image scope, version) -> where it comes from. The sources are at e0ecedea
# (2026-08-21) unless they name another commit.
PUBLISHED: dict[tuple[str, Scope, str], Published] = {
    ("tensorflow", "training", "2.21"): Published(
        "2.19",
        "{version}-{processor}-{py_version}-sagemaker",  # 2.21-cpu-py312-sagemaker
        f"{DLC}/main/docs/src/data/tensorflow-training/2.21-cpu-sagemaker.yml",
        ("py312",),
    ),
    ("tensorflow", "inference", "2.20"): Published(
        "2.19",
        "{version}-{processor}-{py_version}-sagemaker",  # 2.20-cpu-py312-sagemaker
        f"{DLC}/24b1a2185c567ecf435867463e208791fe7791f1/docs/src/data/tensorflow-inference/"
        '2.20-cpu-sagemaker.yml (branch docs/tf-2.20-inference-release: "docs: add tensorflow '
        'serving 2.20 sagemaker inference entries")',
        ("py312",),
    ),
    ("pytorch", "training", "2.10"): Published(
        "2.8",
        "{version}-{processor}-{py_version}",  # 2.10-cpu-py313
        f"{DLC}/main/docs/src/data/pytorch-training/2.10-cpu-sagemaker.yml",
        ("py313",),
    ),
    **{
        ("xgboost", scope, "3.2-0"): Published(
            "3.0-5",
            "{version}",
            f"{DLC}/main/docs/src/data/sagemaker-xgboost/3.2-0-cpu-sagemaker.yml",
        )
        for scope in SCOPES
    },
    # Tagged "1.9-0-cpu-py3", the SDK's convention: the yml lists only "1.9-0", but the image's
    # build config (.github/config/image/sklearn/sagemaker-1.9-0.yml) releases it as
    # prod_image "sagemaker-scikit-learn:1.9-0-cpu-py3".
    ("sklearn", "training", "1.9-0"): Published(
        "1.4-2",
        "{version}-{processor}-{py_version}",
        f"{DLC}/main/docs/src/data/sagemaker-scikit-learn/1.9-0-cpu-sagemaker.yml",
    ),
}

# Families the SDK maps to images this table does not hold (Arm, Neuron) or no longer supports.
GRAVITON_FAMILIES = {"m6g", "m6gd", "c6g", "c6gd", "c6gn", "c7g", "r6g", "r6gd"}


@cache
def _table() -> dict[str, Any]:
    table: dict[str, Any] = json.loads(TABLE.read_text())
    return table


def sdk_version(framework: str, scope: Scope, version: str) -> str:
    """The version the SDK resolves for ours: itself, or the one a `PUBLISHED` version mirrors."""
    published = PUBLISHED.get((framework, scope, version))
    return published.mirrors if published else version


def version_order(version: str) -> tuple[int, ...]:
    """Sorts versions as numbers: "2.6" before "2.10", "1.7-1" before "3.2-0"."""
    return tuple(int(part) for part in re.findall(r"\d+", version))


def known_versions(framework: str, scope: Scope = "training") -> list[str]:
    """The versions of a framework's images of `scope`, oldest first."""
    return sorted(_table()[framework][scope], key=version_order)


def py_versions(framework: str, version: str, scope: Scope = "training") -> list[str]:
    """The Pythons of a version's images; 'py3' for images that name none (XGBoost's estimator
    takes only that, and TensorFlow Serving's SDK images, whose tags name no Python)."""
    return list(_table()[framework][scope][version]["py_versions"]) or ["py3"]


def known_regions(framework: str) -> list[str]:
    scope = _table()[framework]["training"]
    return sorted({r for entry in scope.values() for r in entry["registries"]})


def processor(instance_type: str) -> str:
    """'cpu' or 'gpu', as the SDK picks the image; ValueError where it picks none of ours.

    Raises:
        ValueError: Graviton (Arm), Inferentia or Trainium (Neuron) families, or ml.p2.
    """
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    if family in GRAVITON_FAMILIES:
        raise ValueError(
            f"{instance_type} is a Graviton (Arm) instance; this table holds x86 images"
        )
    if family.startswith(("inf", "trn")):
        raise ValueError(f"{instance_type} needs a Neuron image, which this table does not hold")
    if family == "p2":
        raise ValueError("P2 instances are not supported by these framework versions")
    return "gpu" if family[:1] in ("g", "p") else "cpu"


def _check_any_processor(instance_type: str, scope: str) -> None:
    """What the SDK refuses for an image that serves every processor (XGBoost's): Trainium, and
    Graviton for serving (its Arm images are another table).

    Raises:
        ValueError: a Trainium instance, or a Graviton one for inference.
    """
    family = instance_type.split(".")[1] if instance_type.count(".") == 2 else ""
    if family.startswith("trn"):
        raise ValueError(f"{instance_type} is a Trainium instance; this image does not run there")
    if scope == "inference" and family in GRAVITON_FAMILIES:
        raise ValueError(
            f"{instance_type} is a Graviton (Arm) instance; this table holds x86 images"
        )


def image_uri(
    framework: str, scope: Scope, version: str, py_version: str, region: str, instance_type: str
) -> str:
    """The ECR URI of a framework container, as the SDK resolves it.

    Raises:
        ValueError: no such version, region or processor in the table (message says which).
    """
    entries = _table()[framework][scope]
    if version not in entries:
        raise ValueError(f"{framework} {scope} version {version!r} is not in the image table")
    entry = entries[version]
    account = entry["registries"].get(region)
    if account is None:
        raise ValueError(f"no {framework} {version} {scope} image in region {region!r}")
    proc = ""
    if entry["processors"]:
        proc = processor(instance_type)
        if proc not in entry["processors"]:
            raise ValueError(f"no {proc} image for {framework} {version} {scope}")
    else:
        _check_any_processor(instance_type, scope)
    if entry["py_versions"] and py_version not in entry["py_versions"]:
        raise ValueError(
            f"{framework} {version} {scope} images exist for {entry['py_versions']}, "
            f"not {py_version!r}"
        )
    tag = entry["tag"].format(version=version, processor=proc, py_version=py_version)
    hostname = _table()["ecr_hostnames"][region]
    return f"{account}.dkr.{hostname}/{entry['repository']}:{tag}"


def scikit_learn_image(region: str, instance_type: str) -> str:
    """The scikit-learn container: preprocessing, and the builtin backend's monitoring jobs.

    Raises:
        ValueError: no such image for the region or the instance type's processor.
    """
    return image_uri("sklearn", "training", SKLEARN_VERSION, "py3", region, instance_type)


def monitor_image(region: str) -> str:
    """The Model Monitor analyzer image that QualityCheck steps and schedules run.

    Raises:
        ValueError: the region has no analyzer image.
    """
    entry = _table()["model-monitor"]
    account = entry["registries"].get(region)
    if account is None:
        raise ValueError(f"no Model Monitor image in region {region!r}")
    return f"{account}.dkr.{_table()['ecr_hostnames'][region]}/{entry['repository']}"


def _refresh() -> None:  # pragma: no cover - developer tool, needs the SDK
    """Rebuild images.json from the installed SageMaker SDK's own tables."""
    import sagemaker
    from sagemaker import utils

    sdk = Path(sagemaker.__file__).parent / "image_uri_config"
    out: dict[str, Any] = {}
    for framework, versions in SUPPORTED.items():
        config = json.loads((sdk / f"{framework}.json").read_text())
        out[framework] = {}
        for scope in SCOPES:
            node = config.get(scope, config)
            aliases = node.get("version_aliases", {})
            out[framework][scope] = {}
            for version in versions[scope]:
                like = sdk_version(framework, scope, version)
                entry = node["versions"][aliases.get(like, like)]
                # As the SDK: a version's processors, else its scope's; none (XGBoost): one image
                # for all, no processor in the tag.
                processors = entry.get("processors") or node.get("processors") or []
                py = entry.get("py_versions", [])
                tag = "-".join(
                    ["{version}"] + ["{processor}"] * bool(processors) + ["{py_version}"] * bool(py)
                )
                row = out[framework][scope][version] = {
                    "repository": entry["repository"],
                    "registries": dict(sorted(entry["registries"].items())),
                    "processors": processors,
                    "py_versions": py,
                    "tag": tag,
                }
                published = PUBLISHED.get((framework, scope, version))
                if published:
                    row |= {
                        "py_versions": list(published.py_versions) or py,
                        "tag": published.tag,
                        "published": published.source,
                    }
    monitor = json.loads((sdk / "model-monitor.json").read_text())["versions"][""]
    out["model-monitor"] = {
        "repository": monitor["repository"],
        "registries": dict(sorted(monitor["registries"].items())),
    }
    regions = {
        r
        for fw in SUPPORTED
        for sc in out[fw].values()
        for e in sc.values()
        for r in e["registries"]
    }
    regions |= set(monitor["registries"])
    resolver = utils._botocore_resolver()  # type: ignore[no-untyped-call]
    out["ecr_hostnames"] = {
        r: (resolver.construct_endpoint("ecr", r) or {"hostname": f"ecr.{r}.amazonaws.com"})[
            "hostname"
        ]
        for r in sorted(regions)
    }
    TABLE.write_text(json.dumps(out, indent=2, sort_keys=True) + "\n")
    print(f"wrote {TABLE} from sagemaker {sagemaker.__version__}")


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1:] == ["--refresh"]:
        _refresh()
    else:
        print("usage: python -m kernel.images --refresh")
