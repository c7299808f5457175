"""The launcher's unit tests (`python3 -m unittest`, or `make launcher-test`): no build, no QEMU.
Found from the repository root (as tools.tests) and from tools/ (as tests): either way the
package is imported as `onlydocker`, from tools/."""
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
