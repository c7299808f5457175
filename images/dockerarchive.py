"""Deterministic layer tars and `docker load` archives (moby image spec v1.2 layout:
manifest.json, <image-id>.json config, <diff-id>/layer.tar), written without an engine.
Owns the byte format only; build.py decides what goes into each image."""
import hashlib
import io
import json
import os
import posixpath
import tarfile

FORMAT = tarfile.PAX_FORMAT  # one format everywhere; PAX headers appear only for long names


def _info(name, kind, mode, mtime, size=0, linkname=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.size, ti.linkname = kind, mode, mtime, size, linkname
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    return ti


class Layer:
    """A filesystem tree held as path -> entry, written as one sorted tar."""

    def __init__(self, mtime):
        self.mtime = mtime
        self.entries = {}  # "usr/bin/x" -> (kind, mode, data bytes | None, linkname)

    def _put(self, path, entry):
        path = posixpath.normpath(path.lstrip("/"))
        if path in (".", "") or path.startswith(".."):
            raise ValueError(f"bad path in image: {path!r}")
        old = self.entries.get(path)
        if old and old[0] != entry[0]:
            raise ValueError(f"{path}: added both as {old[0]!r} and {entry[0]!r}")
        self.entries[path] = entry
        return path

    def dir(self, path, mode=0o755):
        self._put(path, (tarfile.DIRTYPE, mode, None, ""))

    def file(self, path, data, mode=0o644):
        self._put(path, (tarfile.REGTYPE, mode, bytes(data), ""))

    def copy(self, path, src, mode=None):
        """Copy a host file; by default the mode keeps only 'executable or not', so no umask leaks in."""
        if mode is None:
            mode = 0o755 if os.stat(src).st_mode & 0o111 else 0o644
        with open(src, "rb") as f:
            self.file(path, f.read(), mode)

    def symlink(self, path, target):
        self._put(path, (tarfile.SYMTYPE, 0o777, None, target))

    def has(self, path):
        return posixpath.normpath(path.lstrip("/")) in self.entries

    def tar_bytes(self):
        # Every parent directory gets its own entry so the tree never depends on the extractor.
        for path in list(self.entries):
            parent = posixpath.dirname(path)
            while parent:
                if parent not in self.entries:
                    self.dir(parent)
                elif self.entries[parent][0] != tarfile.DIRTYPE:
                    raise ValueError(f"{path}: parent {parent} is not a directory in the image")
                parent = posixpath.dirname(parent)
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=FORMAT) as tar:
            for path in sorted(self.entries):
                kind, mode, data, link = self.entries[path]
                ti = _info(path, kind, mode, self.mtime, len(data or b""), link)
                tar.addfile(ti, io.BytesIO(data) if data is not None else None)
        return buf.getvalue()


def write_archive(out_path, repo_tags, config, layers, mtime):
    """Write a `docker load` archive atomically; return (image_id, size_in_bytes).

    config is the image config dict without rootfs; layer diff_ids are filled in here.
    The image ID docker reports is the sha256 of the exact config bytes written."""
    blobs = [layer.tar_bytes() for layer in layers]
    diff_ids = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    config = dict(config, rootfs={"type": "layers", "diff_ids": diff_ids})
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    image_id = hashlib.sha256(config_bytes).hexdigest()
    members = {f"{image_id}.json": config_bytes}
    layer_names = []
    for diff_id, blob in zip(diff_ids, blobs):
        name = diff_id.split(":", 1)[1] + "/layer.tar"
        layer_names.append(name)
        members[name] = blob
    manifest = [{"Config": f"{image_id}.json", "RepoTags": list(repo_tags), "Layers": layer_names}]
    members["manifest.json"] = json.dumps(manifest, separators=(",", ":")).encode()

    tmp = f"{out_path}.tmp.{os.getpid()}"
    try:
        with tarfile.open(tmp, mode="w", format=FORMAT) as tar:
            for name in sorted({posixpath.dirname(n) for n in members} - {""}):
                tar.addfile(_info(name, tarfile.DIRTYPE, 0o755, mtime))
            for name in sorted(members):
                data = members[name]
                tar.addfile(_info(name, tarfile.REGTYPE, 0o644, mtime, len(data)), io.BytesIO(data))
        os.replace(tmp, out_path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return "sha256:" + image_id, os.path.getsize(out_path)
