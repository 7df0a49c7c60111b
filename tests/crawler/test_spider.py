"""What the spider takes for an article URL."""

from __future__ import annotations

import re

import pytest

from crawler.spiders.news import looks_like_article


@pytest.mark.parametrize(
    "url",
    [
        "https://cd.example.vn/cong-doan/ldld-tinh-trien-khai-nghi-quyet-651234.htm",
        "https://cd.example.vn/tin-tuc/bai-viet-5534.html",
        "https://cd.example.vn/2021/12/08/cong-nhan-duoc-ho-tro-tien-thue-nha/",
        "https://cd.example.vn/tin-tuc/cong-doan-co-so-to-chuc-dai-hoi-nhiem-ky-moi",
        "https://cd.example.vn/tin-tuc/anh/1021-anh-cong-nhan-voi-ngay-hoi-the-thao.html",  # a photo story
    ],
)
def test_article_urls(url: str) -> None:
    assert looks_like_article(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://cd.example.vn/",
        "https://cd.example.vn/cong-doan/",
        "https://cd.example.vn/tag/cong-doan-co-so-nhiem-ky-moi-2023",
        "https://cd.example.vn/chuyen-muc/tin-tuc-1234",
        "https://cd.example.vn/tin-tuc/trang-12345",
        "https://cd.example.vn/lien-he",
        "https://cd.example.vn/gioi-thieu/lich-su-hinh-thanh-va-phat-trien-cong-doan",
    ],
)
def test_listing_tag_and_about_pages_are_not_articles(url: str) -> None:
    assert not looks_like_article(url)


def test_the_site_pattern_decides_when_given() -> None:
    pattern = re.compile(r"/bai-\d+$")
    assert looks_like_article("https://cd.example.vn/x/bai-7", pattern)
    assert not looks_like_article("https://cd.example.vn/tin-tuc/bai-viet-5534.html", pattern)
