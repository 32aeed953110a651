"""README, --help and sockit(1) stay true to each other and to the option
tables the parser reads (`sockit help --options-json`, hidden): every option
a command parses is in its man page section, every option the man page
defines is parsed, and every --option the README names exists."""
import json
import re

import pytest

from conftest import ROOT, run_sockit

MAN = (ROOT / "docs" / "sockit.1").read_text()
README = (ROOT / "README.md").read_text()


def options():
    res = run_sockit("help", "--options-json")
    assert res.status == 0 and res.err == "", res
    return [json.loads(line) for line in res.out.splitlines()]


OPTIONS = options()
COMMANDS = sorted({o["command"] for o in OPTIONS})


def plain(text):
    """roff text as a reader sees it: fonts dropped, \\- as -."""
    return re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-").replace("\\(aq", "'")


def man_sections():
    """{"tcp listen": [lines]} for each .SS "sockit COMMAND ..." of the man page.
    A section of alternatives, "sockit http get|head|put", is each one's."""
    found, current = {}, None
    for line in MAN.splitlines():
        if line.startswith(".SH"):
            current = None
        elif line.startswith(".SS"):
            words = plain(line[3:]).strip().strip('"').split()
            current = None
            if words and words[0] == "sockit":
                name, last = [], [""]
                for w in words[1:]:
                    if re.fullmatch(r"[a-z]+(\|[a-z]+)+", w):
                        last = w.split("|")
                        break
                    if not re.fullmatch(r"[a-z]+", w):
                        break
                    name.append(w)
                current = []
                for alt in last:
                    found[" ".join(name + [alt] if alt else name)] = current
            continue
        if current is not None:
            current.append(line)
    return found


SECTIONS = man_sections()


def defined_in_man(command):
    """The options the section defines: the tag lines of its .TP items."""
    lines = SECTIONS[command]
    tags = [lines[i + 1] for i, line in enumerate(lines[:-1]) if line.startswith(".TP")]
    longs, shorts = set(), set()
    for tag in tags:
        tag = plain(tag)
        longs |= set(re.findall(r"--([a-z0-9][a-z0-9-]*)", tag))
        shorts |= set(re.findall(r"(?<![-\w])-([a-zA-Z0-9])\b", tag))
    return longs, shorts


@pytest.mark.parametrize("command", COMMANDS)
def test_man_page_documents_every_option_of_the_table(command):
    assert command in SECTIONS, f"docs/sockit.1 has no section for sockit {command}"
    longs, shorts = defined_in_man(command)
    for o in (o for o in OPTIONS if o["command"] == command):
        if o["long"]:
            assert o["long"] in longs, f"sockit {command} --{o['long']}: not in sockit(1)"
        if o["short"]:
            assert o["short"] in shorts, f"sockit {command} -{o['short']}: not in sockit(1)"


@pytest.mark.parametrize("command", COMMANDS)
def test_man_page_documents_no_option_the_parser_lacks(command):
    longs, shorts = defined_in_man(command)
    table = [o for o in OPTIONS if o["command"] == command]
    # -h, --help: every command's, the parser's own.
    parsed_longs = {o["long"] for o in table} | {"help"}
    parsed_shorts = {o["short"] for o in table} | {"h"}
    assert longs <= parsed_longs, (command, longs - parsed_longs)
    assert shorts <= parsed_shorts, (command, shorts - parsed_shorts)


def test_every_option_has_help_text():
    for o in OPTIONS:
        assert o["text"] and o["text"] == o["text"].strip(), o


def test_zero_is_documented_where_a_number_is_taken():
    """A count or a duration says what 0 means (no limit, never, ...)."""
    for o in OPTIONS:
        if o["kind"] in ("count", "seconds"):
            assert re.search(r"\b0\b", o["text"]), o


# A code span that starts with another tool's name quotes that tool's
# options (`ncat --ssl`, `curl --cacert`), not ours.
PEER_SPAN = re.compile(r"`(?:ncat|nc|socat|curl|wget|openssl|nginx|dig|kdig|nmap|fping|ping|ip|"
                       r"ipcalc|sipcalc|python3|h2o|lighttpd|dufs|dnsmasq)\b[^`]*`")


def test_readme_names_only_real_options():
    every = {o["long"] for o in OPTIONS if o["long"]} | {"help", "version"}
    ours = PEER_SPAN.sub("", README)
    for name in set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", ours)):
        assert name in every, f"README names --{name}, which no command parses"


def test_readme_and_man_page_name_every_command(sockit):
    main_help = sockit("--help").out
    commands = [line.split()[0] for line in main_help.split("commands:\n")[1].split("\n\n")[0]
                .splitlines() if line.strip()]
    assert "ip" in commands and "port" in commands
    for cmd in commands:
        assert f"sockit {cmd}" in README or cmd == "help", cmd
        assert any(s == cmd or s.startswith(cmd + " ") for s in SECTIONS), cmd


def test_help_lists_every_option_of_its_tables(sockit):
    """--help is generated from the same tables: each option appears in it."""
    for o in OPTIONS:
        text = sockit("help", o["help"]).out
        if o["long"]:
            assert f"--{o['long']}" in text, o
        else:
            assert f"-{o['short']}" in text, o


def test_man_page_renders_without_warnings():
    import subprocess
    res = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(ROOT / "docs" / "sockit.1")],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0 and res.stderr == "", res.stderr


# --------------------------------------------------------------------------
# Exit statuses: README, --help and sockit(1) say the same of each command
# --------------------------------------------------------------------------

HELP_COMMANDS = sorted({o["help"] for o in OPTIONS} | {"help"})
# A status in prose: a digit 0-7 standing alone before a word ("4 refused",
# "7 DIR not found", "7 --root", "0, or 2"); not "1 MiB", not "127.0.0.1".
STATUS = re.compile(r"(?<![\w.])([0-7])(?=,? (?![KMG]iB)[A-Za-z(-])")


def statuses_in(text):
    return {int(d) for d in STATUS.findall(text)}


def help_statuses(command):
    """The statuses of the 'exit status:' paragraph of `sockit help COMMAND`."""
    text = run_sockit("help", command).out
    m = re.search(r"^exit status: (.*?)(?:\n\n|\Z)", text, re.S | re.M)
    assert m, f"sockit help {command} has no 'exit status:' paragraph"
    return statuses_in("exit status: " + m.group(1))


def man_section_statuses(command):
    """The union of the 'Exit status' paragraphs of the man page sections of
    command (ip: ip, ip same and ip range)."""
    found = set()
    for name, lines in SECTIONS.items():
        if name != command and not name.startswith(command + " "):
            continue
        text = plain("\n".join(lines))
        paragraphs = re.findall(r"Exit status(?: of \w+\.)?:?(.*?)(?=\n\.(?:PP|SS|SH|TP)|\Z)",
                                text, re.S)
        assert paragraphs, f"sockit(1) section sockit {name} has no Exit status paragraph"
        for p in paragraphs:
            found |= statuses_in(" " + p.replace("\n", " "))
    return found


def man_table_statuses():
    m = re.search(r"What each command can return.*?\.nf\n(.*?)\n\.fi", MAN, re.S)
    assert m, "sockit(1) EXIT STATUS has no table of statuses per command"
    rows = [line.split("\t") for line in m.group(1).splitlines() if not line.startswith(".")]
    return {name: {int(d) for d in codes.split()} for name, codes in rows}


def readme_table_statuses():
    section = README.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\w+) \| ([0-7 ]+) \|$", section, re.M)
    return {name: {int(d) for d in codes.split()} for name, codes in rows}


@pytest.mark.parametrize("command", HELP_COMMANDS)
def test_exit_statuses_agree_across_readme_help_and_man_page(command):
    want = help_statuses(command)
    assert man_table_statuses().get(command) == want, ("sockit(1) EXIT STATUS table", command)
    assert readme_table_statuses().get(command) == want, ("README exit status table", command)
    assert man_section_statuses(command) == want, ("sockit(1) command section", command)


def test_every_command_is_in_the_exit_status_tables():
    assert set(man_table_statuses()) == set(HELP_COMMANDS)
    assert set(readme_table_statuses()) == set(HELP_COMMANDS)
