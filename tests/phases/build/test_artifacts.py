"""BUILD's typed hand-off: what each check writes is what BuildArtifacts reads, under the recorded keys."""

from __future__ import annotations

import dataclasses

from bmad.ports.artifacts import (
    BuildArtifacts,
    BuiltImage,
    LayerSecretsFound,
    PushedImage,
    ReleaseTagged,
    SuitePassRate,
)

BUILT = BuiltImage(
    image_id="sha256:1111",
    image_ref="127.0.0.1:5000/hello:abc",
    image_tags=["127.0.0.1:5000/hello:abc", "127.0.0.1:5000/hello:latest"],
    multi_stage=False,
    containerfile="/repo/Containerfile",
    base_image=None,
)


def test_built_image_keeps_keys_and_leaves_out_an_unknown_size() -> None:
    assert list(BUILT.to_artifacts()) == [
        "image_id",
        "image_ref",
        "image_tags",
        "multi_stage",
        "containerfile",
        "base_image",
    ]
    sized = dataclasses.replace(BUILT, image_size_bytes=2_000_000)
    assert sized.to_artifacts()["image_size_bytes"] == 2_000_000


def test_suite_pass_rate_key() -> None:
    assert SuitePassRate(suite="e2e", percent=100.0).to_artifacts() == {"e2e_pass_rate": 100.0}
    assert SuitePassRate(suite="smoke-api", percent=None).to_artifacts() == {"smoke_api_pass_rate": None}


def test_build_artifacts_read_what_the_checks_wrote() -> None:
    written = {
        **SuitePassRate(suite="e2e", percent=50.0).to_artifacts(),
        **BUILT.to_artifacts(),
        **LayerSecretsFound(secrets_in_image=0).to_artifacts(),
        **PushedImage(
            image_digest="sha256:2222",
            image="127.0.0.1:5000/hello",
            image_tags=BUILT.image_tags,
            image_pinned="127.0.0.1:5000/hello@sha256:2222",
        ).to_artifacts(),
        **ReleaseTagged(git_tag="bmad/dev/abc").to_artifacts(),
    }
    read = BuildArtifacts.from_artifacts(written)
    assert read.image_pinned == "127.0.0.1:5000/hello@sha256:2222"
    assert read.image_id == "sha256:1111"
    assert read.secrets_in_image == 0
    assert read.git_tag == "bmad/dev/abc"
    assert read.pass_rates == {"e2e": 50.0}
    assert read.image_size_bytes is None
    assert read.to_artifacts() == {**written, "image_size_bytes": None}


def test_every_written_key_is_a_build_artifact() -> None:
    known = {f.name for f in dataclasses.fields(BuildArtifacts)}
    for writer in (BuiltImage, PushedImage, LayerSecretsFound, ReleaseTagged):
        assert {f.name for f in dataclasses.fields(writer)} <= known, writer.__name__


def test_missing_keys_take_the_defaults() -> None:
    read = BuildArtifacts.from_artifacts({"image_id": "sha256:1"})
    assert read.image_tags == [] and read.multi_stage is False and read.image_digest is None
