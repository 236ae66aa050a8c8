#!/usr/bin/env python3
"""chart.py - one compare.sh run as an SVG bar chart of ratios to libevent.

    python3 benches/chart.py <target>/anchor-run > benches/results.svg
    python3 benches/chart.py --command 'PIN=1 bash benches/compare.sh' DIR -o out.svg

Reads the summary lines compare.sh leaves in its work folder
(partial-libevent.txt, partial-rvent.txt, partial-raw.txt,
partial-epoll_server.txt, partial-peers.txt; the anchor's line format)
and draws, for every benchmark, each implementation's result divided
by libevent's, oriented so that above 1 is better (more throughput,
fewer ns or instructions). The axis is logarithmic and the bars start at
1 (libevent), so 2x better and 2x worse are the same length. libevent's
own value is printed on each row. A missing line (a step that did not
run) leaves its bar out.

No dependencies: the standard library only, SVG written by hand. The
caption gives the run's date and machine (from the results files'
headers) and the command (--command; compare.sh's default otherwise).
"""

import argparse
import math
import os
import re
import sys
from xml.sax.saxutils import escape

# Implementations: results file label, legend text, colour.
IMPLS = [
    ("rvent", "rvent", "#d95f02"),
    ("raw", "raw epoll floor (C, no library)", "#555555"),
    ("epoll_server", "raw epoll in Rust (examples/epoll_server.rs)", "#7570b3"),
    ("peers", "Rust peer: mio / tokio / hyper", "#1b9e77"),
]

# Rows: (group, row label, line kind, identity fields, metric, higher is
# better, unit of libevent's printed value, peer name shown when a peer
# line exists).
EVBUF_CASES = ["add_16", "drain_16", "add_4096", "drain_4096", "add_buffer",
               "readln_crlf", "search_4b", "remove_1k"]
TIMER_PHASES = ["add", "del", "add0", "fire"]
ROWS = (
    [
        ("pipes", "n=100 a=1 w=100, events/s", "pipes", {"n": "100", "a": "1", "w": "100", "t": "0"}, "events_per_sec", True, "/s", "mio"),
        ("pipes", "n=1000 a=100 w=10000, events/s", "pipes", {"n": "1000", "a": "100", "w": "10000", "t": "0"}, "events_per_sec", True, "/s", "mio"),
        ("pipes", "same with -t (timeouts), events/s", "pipes", {"n": "1000", "a": "100", "w": "10000", "t": "1"}, "events_per_sec", True, "/s", "mio"),
        ("pipes", "instructions per event", "callgrind", {"bench": "pipes", "t": "0"}, "ir_per_op", False, " Ir", "mio"),
        ("pipes", "instructions per event, -t", "callgrind", {"bench": "pipes", "t": "1"}, "ir_per_op", False, " Ir", "mio"),
    ]
    + [("timers", f"{p}, ns per timer", "timers", {}, f"{p}_ns", False, " ns", None) for p in TIMER_PHASES]
    + [("timers", f"{p}, instructions per timer", "callgrind", {"bench": "timers", "phase": p}, "ir_per_op", False, " Ir", None)
       for p in TIMER_PHASES]
    + [("evbuf", f"{c}, {'GB/s' if c == 'search_4b' else 'ns/op'}", "evbuf", {"case": c}, "value", c == "search_4b",
        " GB/s" if c == "search_4b" else " ns", None) for c in EVBUF_CASES]
    + [("evbuf", f"{c}, instructions per {'4 MiB' if c == 'search_4b' else 'op'}", "callgrind", {"bench": "evbuf", "case": c},
        "ir_per_op", False, " Ir", None) for c in EVBUF_CASES]
    + [
        ("echo", "64 B x 50 conns, msgs/s", "echo", {"conns": "50", "size": "64"}, "msgs_per_sec", True, "/s", "tokio"),
        ("echo", "4096 B x 50 conns, msgs/s", "echo", {"conns": "50", "size": "4096"}, "msgs_per_sec", True, "/s", "tokio"),
        ("echo", "64 B, p99 round trip", "echo", {"conns": "50", "size": "64"}, "rtt_p99_us", False, " us", "tokio"),
        ("echo", "instructions per message, 64 B", "callgrind", {"bench": "echo", "size": "64"}, "ir_per_op", False, " Ir", None),
        ("echo", "instructions per message, 4096 B", "callgrind", {"bench": "echo", "size": "4096"}, "ir_per_op", False, " Ir", None),
        ("http", "GET / x 50 conns, requests/s", "http", {"conns": "50"}, "req_per_sec", True, "/s", "hyper"),
        ("http", "p99 latency", "http", {"conns": "50"}, "lat_p99_us", False, " us", "hyper"),
        ("http", "instructions per request", "callgrind", {"bench": "http_hello"}, "ir_per_op", False, " Ir", None),
    ]
)

LINE_RE = re.compile(r"^(pipes|timers|evbuf|echo|http|callgrind) ")


def read_results(path):
    """Summary lines of one results file as (kind, {field: value}), and
    its header fields (date, host, cpu ...)."""
    lines, header = [], {}
    if not os.path.exists(path):
        return lines, header
    with open(path) as f:
        for raw in f:
            raw = raw.strip()
            if raw.startswith("#"):
                # host=<uname -srm> has spaces: it runs up to the next key.
                for k, v in re.findall(r'(\w+)=("[^"]*"|.*?)(?= \w+=|$)', raw):
                    header.setdefault(k, v.strip('"'))
            elif LINE_RE.match(raw):
                kind, rest = raw.split(" ", 1)
                fields = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
                lines.append((kind, fields))
    return lines, header


def lookup(lines, kind, ident, metric):
    """The last line of `kind` whose fields include `ident`: its metric."""
    for k, fields in reversed(lines):
        if k == kind and all(fields.get(a) == b for a, b in ident.items()) and metric in fields:
            try:
                return float(fields[metric])
            except ValueError:
                return None
    return None


def human(v, unit):
    if unit == "/s":
        return f"{v / 1000:,.0f} k/s" if v >= 10000 else f"{v:,.0f}/s"
    if v >= 100:
        return f"{v:,.0f}{unit}"
    return f"{v:.3g}{unit}"


def build(results_dir, command, note):
    data = {label: read_results(os.path.join(results_dir, f"partial-{label}.txt"))
            for label in ["libevent"] + [i[0] for i in IMPLS]}
    if not data["libevent"][0]:
        sys.exit(f"chart.py: no libevent results in {results_dir}/partial-libevent.txt")
    header = data["rvent"][1] or data["libevent"][1]

    rows = []
    for group, label, kind, ident, metric, higher, unit, peer in ROWS:
        base = lookup(data["libevent"][0], kind, ident, metric)
        if not base:
            continue
        bars = []
        for impl, _, colour in IMPLS:
            v = lookup(data[impl][0], kind, ident, metric)
            if v is None or v <= 0:
                continue
            ratio = v / base if higher else base / v
            name = peer if impl == "peers" else None
            if impl == "peers" and not peer:
                continue
            bars.append((impl, ratio, colour, name))
        if bars:
            rows.append((group, label, base, unit, bars))
    if not rows:
        sys.exit("chart.py: no benchmark has both a libevent and another result")

    # Layout.
    bar_h, gap, group_gap = 11, 4, 16
    left, right_pad, top = 300, 40, 92
    plot_w = 560
    # log2 axis: 1/4 to the first power of two above every ratio, 8 at least.
    top_ratio = max(r for *_, bars in rows for _, r, _, _ in bars)
    lo, hi = 1 / 4, max(8.0, 2.0 ** math.ceil(math.log2(top_ratio)))
    clamp = lambda r: min(max(r, lo), hi)
    x_of = lambda r: left + (math.log2(clamp(r)) - math.log2(lo)) / (math.log2(hi) - math.log2(lo)) * plot_w
    y = top
    out = []
    prev_group = None
    for group, label, base, unit, bars in rows:
        if group != prev_group:
            y += group_gap if prev_group else 0
            out.append(f'<text x="12" y="{y + 12}" class="group">{escape(group)}</text>')
            y += 18
            prev_group = group
        bars_h = len(bars) * (bar_h + 1)
        h = max(bars_h, 26)  # room for the two lines of labels
        cy = y + h / 2
        out.append(f'<text x="{left - 8}" y="{cy - 1:.1f}" class="label" text-anchor="end">{escape(label)}</text>')
        out.append(f'<text x="{left - 8}" y="{cy + 10:.1f}" class="base" text-anchor="end">libevent {escape(human(base, unit))}</text>')
        by = y + (h - bars_h) / 2
        for impl, ratio, colour, name in bars:
            x0, x1 = x_of(1), x_of(ratio)
            xa, xb = min(x0, x1), max(x0, x1)
            tip = f"{impl}{' (' + name + ')' if name else ''}: {ratio:.2f}x libevent"
            out.append(f'<rect x="{xa:.1f}" y="{by:.1f}" width="{max(xb - xa, 1):.1f}" height="{bar_h}" fill="{colour}">'
                       f'<title>{escape(tip)}</title></rect>')
            tx = xb + 4 if ratio >= 1 else xa - 4
            anchor = "start" if ratio >= 1 else "end"
            text = f"{ratio:.2f}" + (f" {name}" if name else "")
            if ratio > hi or ratio < lo:
                text += " (off scale)"
            out.append(f'<text x="{tx:.1f}" y="{by + bar_h - 2:.1f}" class="val" text-anchor="{anchor}">{escape(text)}</text>')
            by += bar_h + 1
        y += h + gap
    bottom = y + 8

    # Axis and grid.
    grid = []
    r = lo
    while r <= hi:
        x = x_of(r)
        cls = "one" if r == 1 else "grid"
        grid.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{bottom}" class="{cls}"/>')
        lab = ("1x = libevent" if r == 1 else f"{r:g}x") if r >= 1 else f"1/{1 / r:g}"
        grid.append(f'<text x="{x:.1f}" y="{top - 10}" class="tick" text-anchor="middle">{lab}</text>')
        r *= 2

    width = left + plot_w + right_pad + 60
    legend_y = bottom + 18
    legend = []
    lx = 12
    for impl, text, colour in IMPLS:
        legend.append(f'<rect x="{lx}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        legend.append(f'<text x="{lx + 14}" y="{legend_y}" class="legend">{escape(text)}</text>')
        lx += 24 + 6.2 * len(text)
    date = header.get("date", "?")
    machine = f"{header.get('host', '?')}, {header.get('cpus', '?')} CPUs, {header.get('cpu', '?')}"
    caption = [
        f"Run: {date}, {machine}; pin={header.get('pin', '?')}, echo/http {header.get('duration_s', '?')} s per run.",
        f"Command: {command}; chart: python3 benches/chart.py <work dir>.",
        "Wall-clock rows are one run on a shared, noisy 2-vCPU VM (expect +-10-20 %);",
        "instruction counts (callgrind) are exact. Rust rows ran after the C and rvent steps, not interleaved.",
    ] + ([note] if note else [])
    cap_y = legend_y + 20
    caps = [f'<text x="12" y="{cap_y + 14 * i}" class="cap">{escape(c)}</text>' for i, c in enumerate(caption)]
    height = cap_y + 14 * len(caption) + 8

    title = "rvent vs libevent 2.1.12, the raw epoll floor and the Rust peers"
    sub = "each result / libevent's, oriented so that right of 1x is better (log scale)"
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        "<style>",
        ".title{font-size:15px;font-weight:bold}.sub{font-size:11px;fill:#444}"
        ".group{font-size:13px;font-weight:bold}.label{font-size:11px}.base{font-size:9px;fill:#666}"
        ".val{font-size:9px;fill:#222}.tick{font-size:10px;fill:#444}.legend{font-size:11px}"
        ".cap{font-size:10px;fill:#444}.grid{stroke:#ddd;stroke-width:1}.one{stroke:#000;stroke-width:1.2}",
        "</style>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="12" y="22" class="title">{escape(title)}</text>',
        f'<text x="12" y="40" class="sub">{escape(sub)}</text>',
    ]
    svg += grid + out + legend + caps + ["</svg>"]
    return "\n".join(svg) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results_dir", help="compare.sh's work folder (<target>/anchor-run)")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    ap.add_argument("--command", default="bash benches/compare.sh",
                    help="the compare.sh command line, for the caption")
    ap.add_argument("--note", help="one more caption line (e.g. what disturbed the run)")
    args = ap.parse_args()
    svg = build(args.results_dir, args.command, args.note)
    if args.output:
        with open(args.output, "w") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)


if __name__ == "__main__":
    main()
