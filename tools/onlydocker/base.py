"""What every module of the launcher uses: where the tree is, the program's name, and the one way
to fail (Error, printed by cli.main as `kvm: error: ...`) or to warn."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.realpath(__file__))))
PROG = os.path.basename(sys.argv[0]) or 'kvm'


class Error(Exception):
    """Bad input or a failed step: the message for `kvm: error: MSG`, and the exit status."""

    def __init__(self, msg, code=2):
        super().__init__(msg)
        self.msg, self.code = msg, code


def die(msg, code=2):
    raise Error(msg, code)


def warn(msg):
    print('%s: %s' % (PROG, msg), file=sys.stderr)


def qesc(path):
    """A path inside a QEMU option string, where ',' separates options: doubled, as QEMU reads it."""
    return path.replace(',', ',,')
