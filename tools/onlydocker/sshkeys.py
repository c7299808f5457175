"""--ssh and --ssh-key on the host side: reading and checking the public key files (one line each
in OpenSSH's `TYPE BASE64 [COMMENT]` form, whose blob must name the same TYPE), and the lines
that tell the user how to connect. dom0 merges these keys with the data disk's (images/dom0/ssh.sh)."""
import base64
import binascii
import os
import struct

from .base import die

DEFAULT_PORT = 2222
KEY_TYPES = ('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521',
             'sk-ssh-ed25519@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com')
MAX_FILE = 64 << 10         # a key file is a few hundred bytes; more is not a key file


def blob_type(text):
    """The key type a base64 key blob names (its first SSH string), or None if it is not one."""
    try:
        blob = base64.b64decode(text, validate=True)
        n = struct.unpack('>I', blob[:4])[0]
    except (binascii.Error, ValueError, struct.error):
        return None
    return blob[4:4 + n].decode('ascii', 'replace') if 4 + n <= len(blob) else None


def parse_line(line):
    """`TYPE BASE64 [COMMENT]` as one normalized line, or None when it is no public key."""
    words = line.split(None, 2)
    if len(words) < 2 or words[0] not in KEY_TYPES or blob_type(words[1]) != words[0]:
        return None
    return ' '.join(w.strip() for w in words)


def read(path):
    """The public keys in one file, normalized; dies with the reason for anything else."""
    try:
        if os.path.getsize(path) > MAX_FILE:
            die("--ssh-key '%s' is not a public key file (over %d KiB)" % (path, MAX_FILE >> 10))
        with open(path, 'rb') as f:
            text = f.read().decode('utf-8')
    except UnicodeDecodeError:
        die("--ssh-key '%s' is not a public key file (not text)" % path)
    except OSError as e:
        die("--ssh-key '%s': %s" % (path, e.strerror))
    if 'PRIVATE KEY-----' in text:
        die("--ssh-key '%s' is a private key: give the public one (%s.pub)" % (path, path))
    keys = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        key = parse_line(line)
        if key is None:
            die("--ssh-key '%s' line %d is not an OpenSSH public key (TYPE BASE64 [COMMENT], TYPE one of %s)"
                % (path, n, ', '.join(KEY_TYPES[:5])))
        keys.append(key)
    if not keys:
        die("--ssh-key '%s' holds no public key" % path)
    return keys


def read_all(paths):
    """Every file's keys, each once, in order, as the text of the fw_cfg file (one key a line)."""
    seen = []
    for path in paths:
        for key in read(path):
            if key not in seen:
                seen.append(key)
    return ''.join(k + '\n' for k in seen)


def hints(port, name, key_files, docker_socket=None):
    """How to connect, for the user: the ssh command line, a docker context over ssh, and the
    forwarded socket's DOCKER_HOST."""
    ident = ''
    for path in key_files:
        if path.endswith('.pub') and os.path.isfile(path[:-4]):
            ident = '-i %s ' % path[:-4]
            break
    lines = ["ssh: dom0's sshd on 127.0.0.1:%d (this machine only), once it has an authorized key:" % port,
             '  ssh %s-p %d root@127.0.0.1' % (ident, port),
             '  docker context create %s --docker host=ssh://root@127.0.0.1:%d && docker --context %s ps'
             % (name, port, name)]
    if docker_socket:
        lines.append('  DOCKER_HOST=unix://%s docker ps    (once dom0 is up; gone when the appliance stops)'
                     % docker_socket)
    return lines
