"""1,000,000 profiles stream through ``iter_batches`` with bounded memory (measured, in a child).

Each measurement runs in a fresh Python process so its peak RSS (``VmHWM``) is the
streaming's own. The rows/s figures are printed for information, never asserted.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

N = 1_000_000
MAX_RSS_MB = 300

#: Opens a source, streams one segment, prints {"rows", "seconds", "peak_rss_mb"} as JSON.
CHILD = """
import json, sys, time
from pathlib import Path
from segport.model import Segment, SourceConfig
from segport.sources import open_source

kind, path, table, where, members = sys.argv[1:6]
config = SourceConfig(kind, "id", path=path, table=table or None)
segment = Segment("Stream", where=where or None, members=members or None)
start = time.perf_counter()
rows = 0
with open_source(config, Path(path).parent) as source:
    cols = ["id", "email", "first_name", "last_name", "country", "lifetime_value"]
    for batch in source.iter_batches(segment, cols):
        rows += len(batch)
seconds = time.perf_counter() - start
# VmHWM is this program's own peak; ru_maxrss would carry over the parent's across exec.
status = Path("/proc/self/status").read_text()
peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM:")).split()[1]) / 1024
print(json.dumps({"rows": rows, "seconds": seconds, "peak_rss_mb": peak}))
"""

_SELECT = f"""
SELECT i AS id, 'user' || i || '@example.com' AS email, 'First' || (i % 977) AS first_name,
       'Last' || (i % 991) AS last_name, ['US', 'FR', 'DE', 'GB'][(i % 4) + 1] AS country,
       (i % 1000)::DOUBLE AS lifetime_value
FROM range({N}) t(i)
"""


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("million")
    con = duckdb.connect()
    con.execute(f"COPY ({_SELECT}) TO '{folder / 'profiles.parquet'}' (FORMAT parquet)")
    # every 10th profile, upper-cased and padded, as a members file of 100,000 emails
    con.execute(f"COPY (SELECT ' ' || upper(email) || ' ' AS email FROM ({_SELECT}) "
                f"WHERE id % 10 = 0) TO '{folder / 'members.csv'}' (HEADER, DELIMITER ',')")
    con.close()
    return folder


def measure(kind: str, path: Path, *, table: str = "", where: str = "",
            members: str = "") -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-c", CHILD, kind, str(path), table, where, members],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    rate = result["rows"] / result["seconds"]
    print(f"\n{kind} {path.name} {where or members}: {result['rows']:,} rows in "
          f"{result['seconds']:.2f} s = {rate:,.0f} rows/s, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB")
    return result


def test_parquet_million_rows_stream_in_bounded_memory(data: Path) -> None:
    result = measure("files", data / "profiles.parquet", where="lifetime_value >= 0")
    assert result["rows"] == N
    assert result["peak_rss_mb"] < MAX_RSS_MB


def test_parquet_members_segment_streams_exactly(data: Path) -> None:
    result = measure("files", data / "profiles.parquet", members="members.csv")
    assert result["rows"] == N // 10
    assert result["peak_rss_mb"] < MAX_RSS_MB


def test_sqlite_million_rows_stream_in_bounded_memory(data: Path) -> None:
    db = data / "profiles.db"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE profiles (id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, "
                "last_name TEXT, country TEXT, lifetime_value REAL)")
    con.execute(f"""
        WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {N - 1})
        INSERT INTO profiles SELECT i, 'user' || i || '@example.com', 'First' || (i % 977),
            'Last' || (i % 991), CASE i % 4 WHEN 0 THEN 'US' WHEN 1 THEN 'FR' WHEN 2 THEN 'DE'
            ELSE 'GB' END, (i % 1000) * 1.0 FROM c""")
    con.commit()
    con.close()
    result = measure("sqlite", db, table="profiles", where="country IN ('US', 'FR')")
    assert result["rows"] == N // 2
    assert result["peak_rss_mb"] < MAX_RSS_MB
