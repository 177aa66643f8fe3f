"""Compares two regrtest --junit-xml files: a plain run (the reference)
and a run under the shim.

usage: compare.py PLAIN.xml SHIM.xml LABEL

Every test case that passed in the plain run (completed, no failure, error
or skip) must have passed under the shim; a case missing from the shim's
file (its module crashed, hung or failed to import) counts as failed.
Prints one line per difference and a summary; exits 1 if any differs.
"""
import sys
import xml.etree.ElementTree as ET


def outcomes(path):
    """{test id: 'passed' | 'failed' | 'skipped'} and the number of cases
    with no name (regrtest writes a failing subtest's case without one)."""
    result, unnamed = {}, 0
    root = ET.parse(path).getroot()
    for case in root.iter('testcase'):
        name = case.get('name')
        if name is None:
            unnamed += 1
            continue
        kinds = {child.tag for child in case}
        if kinds & {'failure', 'error'} or case.get('result') != 'completed':
            outcome = 'failed'
        elif 'skipped' in kinds:
            outcome = 'skipped'
        else:
            outcome = 'passed'
        # A name seen twice (a module run twice) keeps the worst outcome.
        if result.get(name) != 'failed':
            result[name] = outcome if result.get(name) in (None, 'passed') else result[name]
    return result, unnamed


def main():
    plain_path, shim_path, label = sys.argv[1:4]
    plain, plain_unnamed = outcomes(plain_path)
    shim, shim_unnamed = outcomes(shim_path)
    passed = sorted(name for name, outcome in plain.items() if outcome == 'passed')
    bad = [(name, shim.get(name, 'missing')) for name in passed if shim.get(name) != 'passed']
    for name, outcome in bad[:30]:
        print(f'{label}: {name}: passed plain, {outcome} under the shim')
    if len(bad) > 30:
        print(f'{label}: ... and {len(bad) - 30} more')
    if shim_unnamed > plain_unnamed:
        print(f'{label}: {shim_unnamed - plain_unnamed} more test case(s) with a failing subtest than plain')
    counts = {k: sum(1 for v in plain.values() if v == k) for k in ('passed', 'skipped', 'failed')}
    print(f'{label}: {len(passed) - len(bad)} of {len(passed)} test cases that pass plain pass under the shim '
          f'(plain: {counts["passed"]} passed, {counts["skipped"]} skipped, {counts["failed"]} failed)')
    if not passed:
        print(f'{label}: the plain run passed no test case')
        return 1
    return 1 if bad or shim_unnamed > plain_unnamed else 0


if __name__ == '__main__':
    sys.exit(main())
