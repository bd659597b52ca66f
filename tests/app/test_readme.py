"""The README documents what users can set: keep it true."""

from __future__ import annotations

from pathlib import Path

from bankcti.settings import Settings
from crm_core.parameters.registry import REGISTRY

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_crm_parameter_is_documented() -> None:
    missing = [key for key in REGISTRY if f"`{key}`" not in README]
    assert not missing


def test_the_settings_named_in_the_readme_exist() -> None:
    names = (
        "HTTP_PORT", "DATABASE_URL", "MQTT_URL", "AMI_HOST", "AMI_PORT", "AMI_SECRET", "FASTAGI_PORT",
        "LOG_FORMAT", "LOG_LEVEL",
    )  # fmt: skip
    for name in names:
        assert f"BANKCTI_{name}" in README
        assert name.lower() in Settings.model_fields
