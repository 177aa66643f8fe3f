"""Why a target is missed, measured: the target's label as the report
prints it (after PASS/MISS, before the parenthesis) -> the explanation,
with its numbers. The report prints it under the MISS; a target that
passes ignores it."""

EXPLAINED = {
}
