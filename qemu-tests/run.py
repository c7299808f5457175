#!/usr/bin/env python3
"""Runs the end-to-end tests: qemu-tests/test_*.py, in file order then definition order; prints TAP.

Usage: qemu-tests/run.py [PATTERN...]   runs the tests whose "file.test" name matches any PATTERN
(a regex, re.search), e.g. `run.py boot` or `run.py 'test_boot.test_shell'`. Exit 1 on any failure.

A test file defines functions named test_*:
  - test_x(vm) takes one argument: the file's shared boot, an harness.Appliance started at the first
    such test and reused by the next ones, so several checks share one boot. A module-level dict
    BOOT = {...} gives its Appliance() arguments. After a failed test, or if the VM has exited, the
    next test gets a fresh boot. Do not power it off: tests that end the VM make their own.
  - test_y() takes nothing and manages its own boots: `with Appliance() as vm: ...`
    (named after the test: build/qemu-tests/<file>.<test>/console.log).
A test fails by raising (assert, harness.ApplianceError); its message and the last console lines
are printed as TAP comments.
"""
import glob
import importlib.util
import inspect
import os
import re
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402


# Tests that boot several times and are left out of `make test` to keep CI inside its time; set
# QEMU_TESTS_SKIP='' (or `make qemu-test-all`) to run them too. A regex on "file.test".
SKIP = os.environ.get('QEMU_TESTS_SKIP', '')


def discover(patterns):
    tests = []
    for path in sorted(glob.glob(os.path.join(HERE, 'test_*.py'))):
        stem = os.path.basename(path)[:-3]
        spec = importlib.util.spec_from_file_location(stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, fn in vars(mod).items():
            full = '%s.%s' % (stem, name)
            if (name.startswith('test_') and inspect.isfunction(fn) and fn.__module__ == stem
                    and (not patterns or any(re.search(p, full) for p in patterns))
                    and not (SKIP and not patterns and re.search(SKIP, full))):
                tests.append((mod, full, fn))
    return tests


def comment(text):
    for line in str(text).rstrip('\n').split('\n'):
        print('# ' + line)


def run_one(mod, full, fn, shared):
    """Runs one test; returns None when it passed, else the report of its failure."""
    harness.TEST.begin(full)     # a console shown on failure is this test's, never an earlier one's
    vm = None
    for other in [m for m in shared if m != mod.__name__]:
        shared.pop(other).kill()
    try:
        if inspect.signature(fn).parameters:
            vm = shared.get(mod.__name__)
            if vm is None or not vm.running():
                if vm:
                    comment('the shared VM had exited: booting a new one')
                    vm.kill()
                vm = shared[mod.__name__] = harness.Appliance(mod.__name__, **getattr(mod, 'BOOT', {}))
            fn(vm)
        else:
            fn()
        return None
    except Exception as e:
        report = []
        frames = [f for f in traceback.extract_tb(e.__traceback__)
                  if os.path.basename(f.filename).startswith('test_')]
        if frames:
            report.append('at %s:%d: %s' % (os.path.basename(frames[-1].filename), frames[-1].lineno,
                                             frames[-1].line))
        report.append('%s: %s' % (type(e).__name__, e))
        last = vm or harness.TEST.last
        if not isinstance(e, harness.ApplianceError) and last is not None:
            report.append('--- last %d console lines (%s) ---' % (harness.TAIL_LINES, last.console_log))
            report.append(last.tail())
        if vm is not None:   # its state is unknown now: the next test boots afresh
            vm.kill()
            shared.pop(mod.__name__, None)
        return '\n'.join(report)
    finally:
        harness.TEST.kill_all(keep=shared.get(mod.__name__))


def main(patterns):
    t0 = time.monotonic()
    tests = discover(patterns)
    if not tests:
        print('run.py: no test matches %s' % (patterns or 'qemu-tests/test_*.py'), file=sys.stderr)
        return 2
    print('1..%d' % len(tests), flush=True)
    passed = failed = 0
    shared = {}   # module name -> its shared Appliance
    for n, (mod, full, fn) in enumerate(tests, 1):
        t = time.monotonic()
        for attempt in (1, 2):
            error = run_one(mod, full, fn, shared)
            crashed = harness.TEST.kernel_died_before_init() if error else None
            if not crashed or attempt == 2:
                break
            # The emulator's flake (a panic before /init, or an int3 oops of the kernel's code
            # patching): retried once and said so.
            comment('%s: the guest kernel crashed as the emulator makes it (%s); running the test again'
                    % (full, crashed))
        if error is None:
            passed += 1
            print('ok %d - %s (%.1f s)' % (n, full, time.monotonic() - t), flush=True)
        else:
            failed += 1
            print('not ok %d - %s (%.1f s)' % (n, full, time.monotonic() - t))
            comment(error)
            sys.stdout.flush()
    for vm in shared.values():
        vm.kill()
    comment('total %.1f s' % (time.monotonic() - t0))
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        harness.TEST.kill_all()
        sys.exit(130)
