#!/bin/sh
# Issue 14 feasibility probe: compile the cold check's hot modules with Cython 3 in the
# worktree (in place, as `cythonize -i` does), or remove what that wrote. Not a build step of
# medcode: the figures it gave are in README.md here.
#
#   pip install cython                       # 3.x; needs gcc and the Python headers
#   sh bench/cython_probe/probe.sh plain     # step 1: the hot modules compiled unchanged
#   sh bench/cython_probe/probe.sh typed     # step 2: plus the .pxd declarations and @cython.locals
#   sh bench/cython_probe/probe.sh clean     # back to pure Python (removes the .so/.c/.pxd, restores rules.py)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
# The walk (x12/document, slots), the code rules (x12/rules) and, unchanged, what runs per claim.
hot="server/x12/document.py server/x12/slots.py server/x12/rules.py"
rest="server/analysis.py server/code_rules.py server/x12/incremental.py server/claims/rules.py server/claim_cache.py server/claim_edits/__init__.py server/verdicts.py"
clean() {
    for f in $hot $rest; do rm -f "${f%.py}".c "${f%.py}".cpython-*.so; done
    rm -f server/x12/document.pxd server/x12/slots.pxd
    git checkout -- server/x12/rules.py
}
case "$1" in
plain)
    clean
    # annotation_typing=False: the annotations are documentation, not C types (with them
    # Cython rejects `-> None` on a method the .pxd declares, and type-checks arguments).
    cythonize -i -3 -j 2 -X annotation_typing=False $hot $rest ;;
typed)
    clean
    cp "$here/document.pxd" "$here/slots.pxd" server/x12/
    # ClaimRules is a Python class (it derives from CodeRules), so a .pxd cannot type its
    # method: the probe inserts the decorator, and needs Cython installed at run time.
    python - "$here/rules_check.locals" <<'PY'
import sys
p = "server/x12/rules.py"
s = open(p).read()
s = s.replace("import datetime as dt\n", "import datetime as dt\n\nimport cython\n", 1)
anchor = "    def check(self, claim: Claim, groups: ClaimCodes"
s = s.replace(anchor, open(sys.argv[1]).read() + anchor, 1)
open(p, "w").write(s)
PY
    cythonize -i -3 -j 2 -X annotation_typing=False $hot $rest ;;
clean) clean ;;
*) echo "usage: probe.sh plain|typed|clean" >&2; exit 2 ;;
esac
