"""The README documents what users can set: keep it true."""

from __future__ import annotations

import re
from pathlib import Path

from bankcti.settings import Settings
from crm_core.parameters.registry import REGISTRY

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SAMPLES = Path(__file__).resolve().parents[2] / "config" / "asterisk"


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


def test_every_environment_variable_in_the_readme_is_a_setting() -> None:
    names = set(re.findall(r"\bBANKCTI_[A-Z0-9_]*[A-Z0-9]\b", README))
    assert "BANKCTI_IVR_IGNORE_BUSINESS_HOURS" in names  # the trial switch of "Business hours"
    # BANKCTI_CONFIG names the settings file; BANKCTI_AGI is the sample dialplan's global (where bankcti's
    # FastAGI listens), not a setting; BANKCTI_TEST_* are the suite's.
    assert "BANKCTI_AGI = agi://" in (SAMPLES / "extensions.conf").read_text(encoding="utf-8")
    others = {"BANKCTI_CONFIG", "BANKCTI_AGI"}
    settings = {name.removeprefix("BANKCTI_").lower() for name in names - others}
    assert sorted(n for n in settings if not n.startswith("test_") and n not in Settings.model_fields) == []


def test_the_readme_describes_every_asterisk_sample() -> None:
    shipped = {p.name for p in SAMPLES.iterdir() if p.suffix in (".conf", ".sh")}
    assert {"extensions.conf", "features.conf", "manager.conf", "pjsip.conf", "res_parking.conf"} <= shipped
    assert [name for name in sorted(shipped) if not re.search(rf"[`/]{re.escape(name)}\b", README)] == []
