"""Two crawls started together, on two sites carrying the same story: one story, one mail.

End to end, with two real processes. Whether their writes actually race depends on timing
(they rarely do on two tiny sites), so the end-of-crawl merge itself is tested
deterministically in tests/pipelines/test_dedup.py; this test found the alert runs of two
processes colliding in the ledger."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml
from elasticsearch import Elasticsearch

from crawler.samples.server import serve_sites
from crawler.samples.sitegen import generate_site
from search.schema import setup
from tests.support import NEWSMON, run_cli

pytestmark = pytest.mark.es


@pytest.mark.parametrize("machines", ["one machine", "two machines sharing PostgreSQL"])
def test_two_concurrent_crawls_make_one_story_and_one_mail(
    tmp_path: Path, env: dict[str, str], es: Elasticsearch, machines: str, request: pytest.FixtureRequest
) -> None:
    data_dirs = [env["NEWSMON_DATA_DIR"]] * 2
    if machines != "one machine":
        # Each crawl has a data directory of its own (its own outbox, seen store, journal):
        # what they share is the archive and NEWSMON_STATE_URL.
        env["NEWSMON_STATE_URL"] = request.getfixturevalue("state_url")
        data_dirs[1] = str(tmp_path / "data-2")
    root = tmp_path / "www"
    for name in ("mot", "hai"):
        (root / name).mkdir(parents=True)
    with serve_sites(root) as sites:
        one, two = sites["mot"], sites["hai"]
        articles = generate_site(one.root, 2, one.url.split("/")[2])
        # Site two republishes site one's first story at an address of its own, and only that.
        shared = two.root / "tin-tuc" / "dang-lai-tin-cong-doan-tinh-100777.html"
        shared.parent.mkdir(parents=True)
        page = (one.root / articles[0].path).read_text(encoding="utf-8")
        # A near-duplicate, not the same text (the same text would share its cluster id anyway).
        page = page.replace("<h1", "<h1 data-x=1").replace(
            '<div class="content">',
            '<div class="content"><p>Tin tổng hợp từ các địa phương gửi về Ban biên tập trong tuần qua.</p>',
        )
        shared.write_text(page, encoding="utf-8")
        urlset = '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        (two.root / "sitemap.xml").write_text(
            f"{urlset}<url><loc>{two.url}tin-tuc/{shared.name}</loc></url></urlset>", encoding="utf-8"
        )
        registry = tmp_path / "sites.yaml"
        registry.write_text(
            yaml.safe_dump(
                {
                    "sites": [
                        {"name": name, "url": site.url, "sitemaps": [site.url + "sitemap.xml"]}
                        for name, site in (("mot", one), ("hai", two))
                    ]
                }
            ),
            encoding="utf-8",
        )
        env["NEWSMON_CONFIG"] = str(registry)
        assert (
            run_cli(
                "alerts",
                "add",
                "--name",
                "Tin",
                "--query",
                f'"{articles[0].title}"',
                "--email",
                "a@cd.example.vn",
                env=env,
            ).returncode
            == 0
        )
        listed = run_cli("alerts", "list", "--json", env={**env, "NEWSMON_DATA_DIR": data_dirs[1]})
        assert [a["name"] for a in json.loads(listed.stdout)] == ["Tin"]  # the second crawl's rules too
        # Neither crawl sees what the other writes until it refreshes at its end, as when two
        # crawls write within one refresh interval of each other.
        index = setup(es, env["NEWSMON_INDEX_PREFIX"])
        es.indices.put_settings(index=index, settings={"index.refresh_interval": "-1"})
        crawls = [
            subprocess.Popen(
                [NEWSMON, "crawl", "--site", name],
                env={**env, "NEWSMON_DATA_DIR": data_dir},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, data_dir in zip(("mot", "hai"), data_dirs, strict=True)
        ]
        outputs = []
        for crawl in crawls:
            stdout, stderr = crawl.communicate(timeout=300)
            assert crawl.returncode == 0, stderr
            outputs.append(stdout + stderr)
    print(*outputs, sep="\n")  # both crawls' summaries, shown in full when an assertion fails
    docs = [json.loads(line) for line in run_cli("export", env=env).stdout.splitlines()]
    story = [d for d in docs if d["title"] == articles[0].title]
    assert {d["site"] for d in story} == {"mot", "hai"}, (outputs, [(d["site"], d["title"]) for d in docs])
    assert story[0]["cluster"] == story[1]["cluster"]
    mails = [m for d in set(data_dirs) for m in (Path(d) / "outbox").glob("*.eml")]
    assert len(mails) == 1
