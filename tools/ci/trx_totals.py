#!/usr/bin/env python3
"""Sum the results of every TRX file under a folder; print failed tests, then one totals line.

Usage: trx_totals.py RESULTS_DIR

The last line printed is exactly "tests: N passed, M failed, K skipped". Exit status: 0 when at least
one test ran and none failed; 1 when a test failed or none ran; 2 when no TRX file could be read.
Only the standard library is used, so CI needs nothing installed beyond python3.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ElementTree

NS = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
# Outcomes that count as failures: a crashed or timed-out test is as bad as a failed assertion.
FAILED_OUTCOMES = {"Failed", "Error", "Timeout", "Aborted"}


def project_name(root, trx):
    """The test assembly a TRX file reports on: the default file names only hold user, machine and time."""
    stdout = root.findtext("t:ResultSummary/t:Output/t:StdOut", default="", namespaces=NS)
    match = re.search(r"Discovering: (\S+)", stdout)  # xUnit's adapter names the assembly, properly cased
    if match:
        return match.group(1)
    test = root.find("t:TestDefinitions/t:UnitTest", NS)
    if test is not None and test.get("storage"):
        return pathlib.PurePath(test.get("storage")).stem
    return trx.name


def totals(trx):
    """(name, passed, failed, skipped, failed tests with their first message line) of one TRX file."""
    root = ElementTree.parse(trx).getroot()
    counters = root.find("t:ResultSummary/t:Counters", NS)
    if counters is None:
        raise ValueError("no <Counters> element")
    count = lambda name: int(counters.get(name, "0"))
    passed = count("passed")
    failed = count("failed") + count("error") + count("timeout") + count("aborted")
    # xunit's skipped tests are counted as total - executed (notExecuted stays 0 in its TRX files).
    skipped = max(count("notExecuted"), count("total") - count("executed"))
    failures = []
    for result in root.iterfind("t:Results/t:UnitTestResult", NS):
        if result.get("outcome") in FAILED_OUTCOMES:
            message = result.findtext("t:Output/t:ErrorInfo/t:Message", default="", namespaces=NS).strip()
            first_line = message.splitlines()[0] if message else ""
            failures.append((result.get("testName", "?"), result.get("outcome"), first_line))
    return project_name(root, trx), passed, failed, skipped, failures


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    files = sorted(pathlib.Path(argv[1]).rglob("*.trx"))
    if not files:
        print(f"ci: no .trx files under {argv[1]}", file=sys.stderr)
        print("tests: 0 passed, 0 failed, 0 skipped")
        return 2
    passed = failed = skipped = 0
    failures = []
    unreadable = 0
    for trx in files:
        try:
            name, p, f, s, names = totals(trx)
        except (ElementTree.ParseError, ValueError, OSError) as error:
            print(f"ci: cannot read {trx}: {error}", file=sys.stderr)
            unreadable += 1
            continue
        print(f"  {name}: {p} passed, {f} failed, {s} skipped")
        passed, failed, skipped = passed + p, failed + f, skipped + s
        failures.extend(names)
    if failures:
        print(f"failed tests ({len(failures)}):")
        for name, outcome, message in failures:
            print(f"  {outcome}: {name}" + (f" -- {message}" if message else ""))
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    if unreadable:
        return 2
    return 0 if failed == 0 and passed + failed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
