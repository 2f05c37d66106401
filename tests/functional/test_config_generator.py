"""The real ``oslo-config-generator`` on the project's namespace lists
every Glance 33 glance.api (and glance) option the service honours, and
none of those doc/config-differences.rst says it does not."""
import pathlib
import re
import subprocess
import sys

from tests.unit.test_config_compat import doc_table, glance_options

BIN = pathlib.Path(sys.executable).parent


def generated(tmp_path, namespace):
    out = tmp_path / "sample.conf"
    subprocess.run([str(BIN / "oslo-config-generator"), "--namespace",
                    namespace, "--output-file", str(out)], check=True,
                   capture_output=True, timeout=120)
    names, group = set(), "DEFAULT"
    for line in out.read_text().splitlines():
        header = re.match(r"^\[(\S+)\]$", line)
        if header:
            group = header.group(1)
        option = re.match(r"^#(\w+) =", line)
        if option:
            names.add((group, option.group(1)))
    return names, out.read_text()


def test_generator_lists_what_is_honoured(tmp_path):
    names, text = generated(tmp_path, "glance.api")
    unsupported = set(doc_table())
    assert glance_options() - unsupported <= names
    assert not names & unsupported
    # Glance's bracketed syntax in the sample
    assert "#allowed_ports = [80,443]" in text
    assert "#enabled_import_methods = [glance-direct,web-download," \
           "copy-image]" in text
