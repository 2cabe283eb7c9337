"""The English UI catalog is complete, compiled, and in step with the source."""

import gettext
import os
import shutil
import subprocess
import sys

import polib
import pytest
from django.conf import settings

PO = settings.BASE_DIR / "locale" / "en" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def test_every_string_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not untranslated, f"untranslated: {untranslated}"
    assert not fuzzy, f"fuzzy: {fuzzy}"


# Messages whose English uses another of the parameters the code passes (万画素 vs megapixels).
OTHER_PARAMETERS = {"画像の画素数が多すぎるため受け付けられません(上限 %(max)s 万画素)。": {"%(max_mp)s"}}


def test_placeholders_match():
    """A translation uses only placeholders the code fills, and drops none of them."""
    import re

    pattern = re.compile(r"%\(\w+\)s")
    for entry in polib.pofile(str(PO)):
        source = set(pattern.findall(entry.msgid))
        other = OTHER_PARAMETERS.get(entry.msgid, set())
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for translation in translations:  # every plural form of a plural entry
            target = set(pattern.findall(translation))
            assert target <= source | other, entry.msgid
            assert len(target) == len(source), entry.msgid


def test_compiled_catalog_matches_the_po_file():
    with open(MO, "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in polib.pofile(str(PO)):
        if entry.msgstr:
            assert compiled.gettext(entry.msgid) == entry.msgstr, f"run `make messages`: {entry.msgid}"


def test_catalog_has_every_string_of_the_source(tmp_path):
    """makemessages over the source finds no string the committed catalog lacks."""
    if not shutil.which("xgettext"):
        if os.environ.get("CI_REQUIRE_BROWSER"):
            pytest.fail("GNU gettext (xgettext) is needed to check the catalog")
        pytest.skip("GNU gettext is not installed")
    work = tmp_path / "src"
    shutil.copytree(
        settings.BASE_DIR,
        work,
        ignore=shutil.ignore_patterns(".venv", "node_modules", "staticfiles", "var", ".git", "*.pyc", "__pycache__"),
    )
    env = {**os.environ, "PORTAL_TESTING": "1"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "en", "--no-obsolete", "--no-location"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
    )
    fresh = {e.msgid for e in polib.pofile(str(work / "locale/en/LC_MESSAGES/django.po"))}
    committed = {e.msgid for e in polib.pofile(str(PO))}
    assert fresh - committed == set(), "run `make messages` and translate the new strings"
    assert committed - fresh == set(), "the catalog has strings the source no longer uses"
