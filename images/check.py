#!/usr/bin/env python3
"""Unit-level checks of the bundled images: builds them twice (byte-identical?), validates the
`docker load` format and tags against images.conf, the files each image must hold, the dhcpcd hooks
and the dom0 console. Usage: check.py --pkgroot PKGROOT [--versions FILE] [OUTDIR to compare]."""
# Host requirements: python3, binutils (readelf), tar; the hook and console checks need root
# (chroot, mount) and util-linux (unshare), and are skipped otherwise.
import argparse
import hashlib
import io
import json
import os
import posixpath
import subprocess
import sys
import tarfile
import tempfile

import rootfs_check
from build import CHRONY_PROGRAMS, ENGINE_LINKS, HOST_LINKS, read_kv

HERE = os.path.dirname(os.path.abspath(__file__))
results = {"passed": 0, "failed": 0, "skipped": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok or not detail else ': ' + str(detail)}")
    return ok


def skip(name, why):
    results["skipped"] += 1
    print(f"skip {name}: {why}")


def read_archive(path):
    """The archive's regular files as {name: bytes}, and its parsed manifest."""
    with tarfile.open(path) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    manifest = json.loads(members["manifest.json"])
    return members, manifest


def layer_entries(blob):
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        return [(m, tar.extractfile(m).read() if m.isfile() else None) for m in tar.getmembers()]


def resolve(entries, path, depth=0):
    """Follow symlinks inside the image; return the final entry path or None if dangling."""
    path = posixpath.normpath(path.lstrip("/"))
    parts, cur = path.split("/"), ""
    for i, part in enumerate(parts):
        cur = posixpath.join(cur, part) if cur else part
        m = entries.get(cur)
        if m is None or depth > 20:
            return None
        if m[0].issym():
            target = m[0].linkname
            base = "" if target.startswith("/") else posixpath.dirname(cur)
            rest = "/".join(parts[i + 1:])
            return resolve(entries, posixpath.join(base, target.lstrip("/"), rest), depth + 1)
    return cur


def check_format(name, path, tags):
    members, manifest = read_archive(path)
    if not check(f"{name}: manifest has one image", isinstance(manifest, list) and len(manifest) == 1, manifest):
        return None
    m = manifest[0]
    check(f"{name}: RepoTags as images.conf says", m.get("RepoTags") == tags, m.get("RepoTags"))
    cfg_bytes = members.get(m.get("Config"))
    if not check(f"{name}: config present", cfg_bytes is not None, m.get("Config")):
        return None
    check(f"{name}: config named by its sha256 (the image ID)",
          m["Config"] == hashlib.sha256(cfg_bytes).hexdigest() + ".json", m["Config"])
    cfg = json.loads(cfg_bytes)
    diff_ids = cfg.get("rootfs", {}).get("diff_ids", [])
    check(f"{name}: linux/amd64 with rootfs layers",
          (cfg.get("os"), cfg.get("architecture"), cfg.get("rootfs", {}).get("type")) == ("linux", "amd64", "layers"))
    check(f"{name}: one diff_id per layer", len(diff_ids) == len(m.get("Layers", [])) > 0)
    entries = {}
    for layer_name, diff_id in zip(m.get("Layers", []), diff_ids):
        blob = members.get(layer_name)
        if not check(f"{name}: layer {layer_name[:12]} present", blob is not None):
            continue
        check(f"{name}: layer {layer_name[:12]} matches its diff_id",
              "sha256:" + hashlib.sha256(blob).hexdigest() == diff_id)
        listed = layer_entries(blob)
        names = [ti.name for ti, _ in listed]
        seen = {""}
        orphans = [n for n in names if posixpath.dirname(n.rstrip("/")) not in seen or seen.add(n.rstrip("/"))]
        check(f"{name}: layer entries sorted, each after its parent directory", names == sorted(names) and not orphans,
              orphans[:5])
        check(f"{name}: layer owners root, no names, fixed mtime", all(
            ti.uid == 0 and ti.gid == 0 and not ti.uname and not ti.gname and ti.mtime == listed[0][0].mtime
            for ti, _ in listed))
        entries.update({ti.name.rstrip("/"): (ti, data) for ti, data in listed})
    return cfg, entries


def check_contents(name, cfg, entries, must_have, outside=None):
    """outside: path prefixes that links may point into (bind mounts at run time)."""
    c = cfg.get("config", {})
    entry = (c.get("Entrypoint") or [None])[0]
    check(f"{name}: entrypoint {entry} in image", entry and resolve(entries, entry) is not None)
    labels = c.get("Labels") or {}
    check(f"{name}: source-versions label", "org.onlydocker.source-versions" in labels, labels)
    check(f"{name}: PATH set", any(e.startswith("PATH=") for e in c.get("Env") or []))
    missing = [p for p in must_have if resolve(entries, p) is None]
    check(f"{name}: holds {len(must_have)} required paths", not missing, missing)
    def leaves(p, hops=0):   # a link into `outside`, directly or through other links of the image
        ti = entries.get(p, (None,))[0]
        if not (outside and ti is not None and ti.issym() and hops < 10):
            return False
        t = ti.linkname
        return t.startswith(tuple(o + "/" for o in outside)) or leaves(posixpath.normpath(posixpath.join(posixpath.dirname(p), t)).lstrip("/"), hops + 1)
    dangling = [p for p, (ti, _) in entries.items() if ti.issym() and resolve(entries, p) is None and not leaves(p)]
    check(f"{name}: no dangling symlinks", not dangling, dangling[:5])
    unmet = []
    with tempfile.TemporaryDirectory() as tmp:
        for p, (ti, data) in entries.items():
            if ti.isfile() and data[:4] == b"\x7fELF":
                f = os.path.join(tmp, "elf")
                with open(f, "wb") as out:
                    out.write(data)
                unmet += [f"{p}: {d}" for d in elf_deps(f, entries)]
    check(f"{name}: every ELF's loader and libraries present", not unmet, unmet[:5])
    return labels


def elf_deps(path, entries):
    out = subprocess.run(["readelf", "-W", "-l", "-d", path], capture_output=True, text=True).stdout
    missing = []
    for line in out.splitlines():
        if "program interpreter:" in line:
            interp = line.split(":", 1)[1].strip(" ]")
            if resolve(entries, interp) is None:
                missing.append(interp)
        elif "(NEEDED)" in line:
            lib = line.split("[", 1)[1].rstrip("]")
            if not any(resolve(entries, f"{d}/{lib}") for d in ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib"]):
                missing.append(lib)
    return missing


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pkgroot", required=True)
    ap.add_argument("--versions")
    ap.add_argument("outdir", nargs="?", help="archives built earlier, to compare with a rebuild")
    args = ap.parse_args()
    conf = read_kv(os.path.join(HERE, "images.conf"))
    tags = {"dhcpcd": [conf["DHCP_IMAGE"]], "dom0": [conf["DOM0_IMAGE"], conf["DOM0_BUNDLED"]]}
    with tempfile.TemporaryDirectory() as tmp:
        dirs = [os.path.join(tmp, "a"), os.path.join(tmp, "b")]
        for d in dirs:
            cmd = [sys.executable, os.path.join(HERE, "build.py"), "--pkgroot", args.pkgroot, "--out", d]
            r = subprocess.run(cmd + (["--versions", args.versions] if args.versions else []), capture_output=True, text=True)
            if not check(f"build into {os.path.basename(d)}", r.returncode == 0, r.stderr.strip()):
                return finish()
        for name in tags:
            a, b = (open(os.path.join(d, f"{name}.tar"), "rb").read() for d in dirs)
            check(f"{name}: two builds byte-identical", a == b)
            if args.outdir:
                given = os.path.join(args.outdir, f"{name}.tar")
                check(f"{name}: {given} equals a rebuild", os.path.isfile(given) and open(given, "rb").read() == a)
        images = {}
        for name in tags:
            got = check_format(name, os.path.join(dirs[0], f"{name}.tar"), tags[name])
            if got:
                images[name] = got
        if "dhcpcd" in images:
            check_contents("dhcpcd", *images["dhcpcd"], [
                "usr/sbin/dhcpcd", "etc/dhcpcd.conf", "bin/sh", "usr/lib/dhcpcd/dhcpcd-run-hooks",
                "usr/lib/dhcpcd/dhcpcd-hooks/20-resolv.conf", "usr/lib/dhcpcd/dhcpcd-hooks/90-log-bound",
                "var/lib/dhcpcd", "etc/passwd",
                # the ntp container's: chronyd, its entrypoint, and the hook's chronyc
                "usr/sbin/chronyd", "usr/bin/chronyc", "usr/lib/onlydocker/ntp.sh",
                "usr/lib/dhcpcd/dhcpcd-hooks/60-ntp", "run/ntp"])
            for prog in CHRONY_PROGRAMS:
                ti, data = images["dhcpcd"][1][prog]
                text = (data or b"").decode(errors="replace")
                check(f"dhcpcd: /{prog} runs the engine image's with the engine's loader and glibc", ti.isfile()
                      and f'e={conf["ENGINE_DIR"]}\n' in text and '"$e/usr/lib64/ld-linux-x86-64.so.2"' in text
                      and '--library-path "$e/usr/lib/x86_64-linux-gnu"' in text and f'"$e/{prog}" "$@"' in text, text)
            chrony_libs = [p for p in images["dhcpcd"][1] if "libgnutls" in p or "libedit" in p]
            check("dhcpcd: no chrony libraries (gnutls, libedit: the engine image's)", not chrony_libs, chrony_libs)
            size = os.path.getsize(os.path.join(dirs[0], "dhcpcd.tar"))
            check("dhcpcd: archive under 14 MB (chrony is the engine image's)", size < 14_000_000, size)
            conf_text = images["dhcpcd"][1]["etc/dhcpcd.conf"][1].decode()
            # Without nodev, dhcpcd 9.4.1 dereferences a NULL plugin once stdin is readable.
            check("dhcpcd: config has nodev, noarp, persistent, timeout 0", all(
                f"\n{w}\n" in conf_text for w in ["nodev", "noarp", "persistent", "timeout 0"]))
            check("dhcpcd: config asks for the lease's NTP servers (option 42)", "\noption ntp_servers\n" in conf_text)
        if "dom0" in images:
            labels = check_contents("dom0", *images["dom0"], [
                "bin/busybox", "bin/sh", "entrypoint.sh", "etc/profile", "etc/dom0-release",
                "etc/passwd", "host", "var/run", "tmp", "root", "usr/bin/setsid", "sbin/poweroff", "sbin/reboot",
                "sbin/halt", "bin/cttyhack", "usr/lib/onlydocker/ssh.sh", "etc/ssh/sshd_config", "run/sshd"],
                outside=(conf["ENGINE_DIR"], "/host"))
            ents = images["dom0"][1]
            ti = ents.get("var/run/docker.sock", (None,))[0]
            check("dom0: /var/run/docker.sock links to the host's (a bind of the socket file goes stale when dockerd restarts)",
                  ti is not None and ti.issym() and ti.linkname == "/host/var/run/docker.sock", ti and ti.linkname)
            for path in HOST_LINKS:
                ti = ents.get(path, (None,))[0]
                check(f"dom0: /{path} links to the host's (its time zone)", ti is not None and ti.issym()
                      and ti.linkname == f"/host/{path}", ti and ti.linkname)
            for path in ENGINE_LINKS:
                ti = ents.get(path, (None,))[0]
                check(f"dom0: /{path} links into the engine image", ti is not None and ti.issym()
                      and ti.linkname == f"{conf['ENGINE_DIR']}/{path}", ti and ti.linkname)
            sshd = ents["etc/ssh/sshd_config"][1].decode().split("\n")
            # Local forwards only (kvm --docker-socket's ssh -L): nothing may listen in dom0 for a client.
            check("dom0: sshd_config takes keys only, root by key alone, local forwards only", all(w in sshd for w in [
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "AuthenticationMethods publickey",
                "PermitRootLogin prohibit-password", "AllowTcpForwarding local", "AllowStreamLocalForwarding local",
                "GatewayPorts no", "PermitTunnel no", "AllowAgentForwarding no",
                "AuthorizedKeysFile /run/onlydocker/authorized_keys"]) and not any(
                    w.split()[:1] == ["AllowTcpForwarding"] and w != "AllowTcpForwarding local" for w in sshd), sshd)
            check("dom0: /etc/passwd has sshd's privilege separation user",
                  "\nsshd:x:" in "\n" + ents["etc/passwd"][1].decode(), ents["etc/passwd"][1])
            size = os.path.getsize(os.path.join(dirs[0], "dom0.tar"))
            check("dom0: archive under 4 MiB (the CLI is the engine image's)", size < 4 << 20, size)
            check("dom0: version label as images.conf says", labels.get("org.onlydocker.dom0.version") == conf["DOM0_VERSION"])
        if os.geteuid() != 0:
            skip("dhcpcd hooks and dom0 console", "need root for chroot")
        else:
            for name in [n for n in ("dhcpcd", "dom0") if n in images]:
                root = os.path.join(tmp, f"{name}-root")
                os.mkdir(root)
                members, manifest = read_archive(os.path.join(dirs[0], f"{name}.tar"))
                for layer in manifest[0]["Layers"]:
                    subprocess.run(["tar", "-xf", "-", "-C", root], input=members[layer], check=True)
                runner = rootfs_check.hooks if name == "dhcpcd" else rootfs_check.console
                for label, ok, detail in runner(root, conf):
                    check(f"{name}: {label}", ok, detail)
    return finish()


def finish():
    line = f"{results['passed']} passed, {results['failed']} failed"
    print(line + (f", {results['skipped']} skipped" if results["skipped"] else ""))
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
