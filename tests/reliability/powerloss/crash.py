#!/usr/bin/python3
"""Puts a directory tree back to what the power-loss shim (shim.c) recorded as durable.

Usage: crash.py ROOT STATE
Run after the process that had the shim preloaded was killed: every directory gets exactly the
entries it had at its last fsync (or syncfs), every file the bytes it had at its last
fsync/fdatasync under that name, or nothing when it was linked durably but its data never
synced. What was written, created, renamed or removed after that is undone, as a power cut
would. SQLite's -shm files are removed (they are rebuilt from the WAL, and a power cut does not
keep them either). STATE is emptied for the next run.
"""
import os
import shutil
import sys


def listing(state, rel):
    path = os.path.join(state, "dirs", (rel or ".").replace("/", "%") + ".list")
    if not os.path.exists(path):
        return None
    entries = {}
    for line in open(path):
        ino, _, name = line.rstrip("\n").partition(" ")
        entries[name] = int(ino)
    return entries


def restore(root, state, rel, report):
    path = os.path.join(root, rel) if rel else root
    wanted = listing(state, rel)
    if wanted is None:
        wanted = {}  # never synced: its entries were never durable
    for name in os.listdir(path):
        if name not in wanted:
            victim = os.path.join(path, name)
            if os.path.isdir(victim) and not os.path.islink(victim):
                shutil.rmtree(victim)
            else:
                os.unlink(victim)
            report["removed"] += 1
    for name, ino in wanted.items():
        child_rel = f"{rel}/{name}" if rel else name
        child = os.path.join(path, name)
        if listing(state, child_rel) is not None or os.path.isdir(child):
            os.makedirs(child, exist_ok=True)
            restore(root, state, child_rel, report)
            continue
        if name.endswith("-shm"):
            if os.path.exists(child):
                os.unlink(child)
            continue
        saved = os.path.join(state, "content", f"{ino}.{name}")
        data = open(saved, "rb").read() if os.path.exists(saved) else b""
        current = open(child, "rb").read() if os.path.exists(child) else None
        if current != data:
            report["reverted"] += 1
            with open(child, "wb") as f:
                f.write(data)


def main():
    root, state = sys.argv[1], sys.argv[2]
    report = {"removed": 0, "reverted": 0}
    restore(os.path.realpath(root), state, "", report)
    shutil.rmtree(state)
    os.makedirs(state)
    print(f"powerloss: {report['removed']} entries removed, {report['reverted']} files reverted")


if __name__ == "__main__":
    main()
