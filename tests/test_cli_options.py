"""Every option of every command, given a bad value: exit code 2 and one `error:` line (never a
traceback). The options are read from the click commands themselves, so a new option is covered
as soon as it exists (a type without bad values here fails the test)."""

import json

import click
import pytest
from click.testing import CliRunner

from symrnn.cli import main

#: A valid call of each command; each bad value replaces one of its options (or is added).
VALID = {
    "paths": ["paths", "elman", "--wrt", "W^{hx}", "--n", "2"],
    "derive": ["derive", "elman", "--wrt", "W^{hx}", "--n", "2"],
    "check": ["check", "elman", "--n", "2"],
    "sensitivity": ["sensitivity", "elman", "--input", "x^{(1)}", "--n", "2"],
    "eval": ["eval", "scalar", "--values", "VALUES"],
    "codegen": ["codegen", "elman", "-o", "OUT"],
    "show": ["show", "elman"],
}

BAD_BY_TYPE = {
    "IntRange": ["abc", "1e3", "²", ""],  # and one below its minimum, below
    "Choice": ["nope", "", "NUMERATOR\n"],
    "Path": ["/proc/self/nonexistent/x", "/etc/passwd/x"],  # "" is the current directory, as "."
}
BAD_STRINGS = {  # free-text options, by name
    "wrt": ["nope", "", "\\input{x}", "W^{hx"],
    "g": ["nope", "", "tanh'"],
    "input_name": ["nope", "x^{(9)}", ""],
    "size_pairs": ["m", "m=0", "zz=3", "m=²", "=3"],
    "model": ["no_such_model", "", "/etc/passwd", "elman.rnn"],
}


def _cases():
    for name, command in main.commands.items():
        if name not in VALID:
            continue
        for param in command.params:
            kind = type(param.type).__name__
            if kind == "BoolParamType":
                continue
            bad = BAD_STRINGS.get(param.name) if kind == "StringParamType" else BAD_BY_TYPE.get(kind)
            assert bad is not None, f"no bad values for {name} {param.name} ({kind}): add them"
            if kind == "IntRange":
                bad = [*bad, str(param.type.min - 1)]
            for value in bad:
                yield name, param, value


def _call(name, param, value, tmp_path):
    values = tmp_path / "values.json"
    values.write_text(json.dumps({"n": 2, "values": {"w_x": "0.1", "w_h": 1, "w_y": 2, "h_0": 1, "x": [10, 10],
                                                     "y": [3, 3]}}))
    args = [str(values) if a == "VALUES" else str(tmp_path / "out.py") if a == "OUT" else a for a in VALID[name]]
    if isinstance(param, click.Argument):
        args[1] = value
        return args
    flag = max(param.opts, key=len)
    for opt in param.opts:
        if opt in args:
            k = args.index(opt)
            args[k + 1] = value
            return args
    return args + [flag, value]


CASES = list(_cases())


@pytest.mark.parametrize("name, param, value", CASES,
                         ids=[f"{n}-{p.name}-{v!r}" for n, p, v in CASES])
def test_every_option_refuses_a_bad_value_with_one_error_line(name, param, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative outputs land here
    result = CliRunner().invoke(main, _call(name, param, value, tmp_path))
    assert "Traceback" not in result.output, result.output
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert result.output.count("rror: ") >= 1, result.output
