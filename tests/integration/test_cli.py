"""Integration tests for sockit's top level: help, version, command lookup."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACRONYMS = re.compile(r"\b(IPv4|IPv6|RFC|IANA|TCP|UDP|JSON|CIDR)\b")


def assert_message_style(err):
    assert err, "expected a message on stderr"
    for line in err.splitlines():
        assert line.startswith("sockit: "), line
        assert not line.rstrip().endswith("."), line
        body = ACRONYMS.sub("", re.sub(r"'[^']*'", "''", line[len("sockit: "):]))
        assert body == body.lower(), f"uppercase outside quoted input: {line!r}"


def header_version():
    text = (ROOT / "include" / "sockit" / "version.h").read_text()
    return re.search(r'#define SOCKIT_VERSION "([^"]+)"', text).group(1)


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_main_help(sockit, flag):
    res = sockit(flag)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.startswith("usage: sockit")
    for command in ("ip", "port", "help"):
        assert re.search(rf"^\s+{command}\s", res.out, re.M), command


def test_help_without_command_is_main_help(sockit):
    res = sockit("help")
    assert res.status == 0, res
    assert res.out == sockit("--help").out


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(sockit, flag):
    res = sockit(flag)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out == f"sockit {header_version()}\n"
    assert re.fullmatch(r"sockit \d+\.\d+\.\d+\n", res.out)


@pytest.mark.parametrize("command", ["ip", "port"])
def test_help_command(sockit, command):
    res = sockit("help", command)
    assert res.status == 0, res
    assert res.err == ""
    assert res.out.startswith(f"usage: sockit {command}")
    assert res.out == sockit(command, "--help").out


def test_help_help(sockit):
    res = sockit("help", "help")
    assert res.status == 0, res
    assert res.out.startswith("usage: sockit help")


def test_help_nosuch(sockit):
    res = sockit("help", "nosuch")
    assert res.status == 2, res
    assert res.out == ""
    assert "'nosuch'" in res.err.splitlines()[0]
    assert_message_style(res.err)


@pytest.mark.parametrize("name", ["nosuch", "IP", "ips", "--bogus", "-x"])
def test_unknown_subcommand(sockit, name):
    res = sockit(name, "1.2.3.4")
    assert res.status == 2, res
    assert res.out == ""
    assert f"'{name}'" in res.err
    assert_message_style(res.err)


def test_no_arguments_usage_on_stderr(sockit):
    res = sockit()
    assert res.status == 2, res
    assert res.out == ""
    assert res.err.startswith("usage: sockit")
    assert "ip" in res.err and "port" in res.err


def test_no_arguments_with_stdin_data_still_usage(sockit):
    res = sockit(input="1.2.3.4\n")
    assert res.status == 2
    assert res.out == ""
    assert res.err.startswith("usage: sockit")


@pytest.mark.parametrize("args", [["ip", "--help"], ["port", "--help"], ["--help"]])
def test_help_text_fits_a_terminal(sockit, args):
    for line in sockit(*args).out.splitlines():
        assert len(line) <= 100, line


# Every subcommand's options are one table (src/cli/opts.c): one parser, so
# -h and --help, getopt_long's clusters and abbreviations, and the words of
# a bad option are the same everywhere.
SUBCOMMANDS = [["ip"], ["port"], ["tcp", "connect"], ["tcp", "listen"], ["tcp", "ping"],
               ["udp", "listen"], ["udp", "send"], ["http", "serve"], ["http", "get"],
               ["http", "head"], ["http", "put"], ["http", "post"], ["http", "delete"], ["serve"],
               ["resolve"], ["dns", "query"], ["dns", "serve"], ["ifaces"], ["arp"], ["ping"],
               ["scan"]]


@pytest.mark.parametrize("flag", ["-h", "--help", "--hel"])
@pytest.mark.parametrize("command", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(sockit, command, flag):
    res = sockit(*command, flag)
    assert res.status == 0 and res.err == "", res
    assert res.out == sockit("help", command[0]).out


@pytest.mark.parametrize("args", [["ping", "-qh"], ["scan", "-jh"], ["resolve", "-4h"],
                                  ["dns", "query", "-vh"], ["tcp", "ping", "-qjh"],
                                  ["http", "get", "-sLh"]])
def test_help_in_a_cluster(sockit, args):
    res = sockit(*args)
    assert res.status == 0 and res.out == sockit("help", args[0]).out, res


@pytest.mark.parametrize("args, message", [
    (["ping", "--count", "0", "::1"], "ping: --count 0: at least one probe"),
    (["ping", "--cou=x", "::1"], "ping: --count 'x': not a whole number (0-1000000000)"),
    (["ping", "-qc", "0", "::1"], "ping: -c 0: at least one probe"),
    (["ping", "--help=x"], "ping: option '--help' takes no value"),
    (["tcp", "ping", "--timeout=0", "h", "1"], "tcp ping: --timeout 0: the timeout must be above 0"),
    (["scan", "--ra", "0", "h", "1"], "scan: --rate 0: at least 1 a second"),
    (["arp", "--count", "2", "127.0.0.1"], "arp: --count counts --probe requests: add --probe"),
    (["arp", "--probe", "--count=0", "127.0.0.1"], "arp: --count 0: at least one request"),
    (["ifaces", "-sx"], "ifaces: unknown option '-x'"),
    (["dns", "query", "x", "--t", "1"],
     "dns query: option '--t' is ambiguous: --tcp, --timeout, --trace"),
    (["dns", "query", "x", "--time", "0"], "dns query: --timeout 0: a query needs some time"),
    (["dns", "serve", "--delay", "x", "f"], "dns serve: --delay 'x': not a whole number (0-3600000)"),
    (["http", "post", "--max-red=x", "http://h/"],
     "http post: --max-redirs 'x': not a whole number (0-1000)"),
    (["http", "get", "-s", "--req", "A B", "http://h/"],
     "http get: --request 'A B': a method is a token, such as 'GET' or 'PATCH'"),
    (["http", "head", "--h", "x", "http://h/"], "http head: option '--h' is ambiguous: --header, "
                                                  "--handshake-timeout"),
    (["resolve", "-4", "-6", "localhost"], "resolve: -4 and -6 cannot be combined (without them, "
                                           "both IPv4 and IPv6 are used)"),
])
def test_option_errors_name_the_option_as_typed(sockit, args, message):
    res = sockit(*args)
    assert res.status == 2 and res.out == "", res
    assert res.err.splitlines()[0] == "sockit: " + message
    assert_message_style(res.err)
