#!/usr/bin/env python3
"""What a process's resident memory is made of, from /proc/PID/smaps: one line."""
import re
import sys

anon = code = files = 0
kind = None
for line in open(f"/proc/{sys.argv[1]}/smaps"):
    if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
        fields = line.split(None, 5)
        name = fields[5].strip() if len(fields) > 5 else ""
        kind = "code" if "doublemapper" in name else "file" if name.startswith("/") else "anon"
    elif line.startswith("Rss:"):
        kb = int(line.split()[1])
        if kind == "code": code += kb
        elif kind == "file": files += kb
        else: anon += kb
mb = lambda kb: f"{kb / 1024:.0f} MB"
print(f"anonymous {mb(anon)} (GC heaps, SQLite page caches, stacks), compiled code {mb(code)}, mapped files {mb(files)}")
