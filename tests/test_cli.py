"""The command line, through a subprocess as a user runs it."""

import subprocess
import sys


def test_demo_prints_a_table_for_every_cell():
    out = subprocess.run(
        [sys.executable, "-m", "fastrnn", "demo", "--n-samples", "200", "--epochs", "1",
         "--distance", "3", "6", "--n-timesteps", "10"],
        capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "acc D=3" in lines[1] and "acc D=6" in lines[1]
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
    assert set(rows) == {"simple", "lstm", "gru"}
    for values in rows.values():
        assert all(0.0 <= float(v) <= 1.0 for v in values[::2])


def test_bad_arguments_are_one_line_and_a_nonzero_exit():
    out = subprocess.run([sys.executable, "-m", "fastrnn", "demo", "--distance", "50"],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 2
    assert "error: distance must be in" in out.stderr
    assert "Traceback" not in out.stderr
