"""container.s3 against a real moto S3 server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from _container_helpers import all_keys, moto_server_fixture, s3  # noqa: F401 - fixture

from analyzer.errors import UserError
from analyzer.storage import s3_client, split_s3_uri
from container.s3 import download, output_files, upload_outputs


def _outputs(root: Path) -> Path:
    (root / "explanations_shap").mkdir(parents=True)
    (root / "analysis.json").write_text("{}")
    (root / "report.pdf").write_bytes(b"%PDF")
    (root / "explanations_shap" / "out.csv").write_text("a\n1\n")
    (root / "link.json").symlink_to(root / "analysis.json")
    return root


def test_split_s3_uri() -> None:
    assert split_s3_uri("s3://b/k/x.csv") == ("b", "k/x.csv")
    assert split_s3_uri("s3://b") == ("b", "")
    with pytest.raises(UserError, match="not-s3"):
        split_s3_uri("not-s3/x")


def test_output_files_puts_analysis_json_last_and_skips_symlinks(tmp_path: Path) -> None:
    files = [p.relative_to(tmp_path).as_posix() for p in output_files(_outputs(tmp_path))]
    assert files[-1] == "analysis.json"
    assert sorted(files) == ["analysis.json", "explanations_shap/out.csv", "report.pdf"]


def test_upload_outputs_uploads_every_file_under_the_prefix(tmp_path: Path, moto_server: str) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="results")
    uris = upload_outputs(_outputs(tmp_path), "s3://results/run/1/")
    assert uris[-1] == "s3://results/run/1/analysis.json"
    assert all_keys(client, "results") == [
        "run/1/analysis.json",
        "run/1/explanations_shap/out.csv",
        "run/1/report.pdf",
    ]
    body = client.get_object(Bucket="results", Key="run/1/explanations_shap/out.csv")["Body"].read()
    assert body == b"a\n1\n"


def test_failed_upload_leaves_nothing_under_the_prefix(tmp_path: Path, moto_server: str) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="results")
    real = s3_client()
    calls = []

    def fail_on_second_put(**kwargs: object) -> None:
        calls.append(kwargs)
        if len(calls) == 2:
            raise ConnectionError("network went away")

    real.meta.events.register("before-call.s3.PutObject", fail_on_second_put)
    with pytest.raises(ConnectionError):
        upload_outputs(_outputs(tmp_path), "s3://results/run", client=real)
    assert len(calls) == 2
    assert all_keys(client, "results") == []


def test_download_object_and_prefix(tmp_path: Path, moto_server: str) -> None:
    client = s3(moto_server)
    client.create_bucket(Bucket="data")
    client.put_object(Bucket="data", Key="in/a.csv", Body=b"1")
    client.put_object(Bucket="data", Key="in/sub/b.csv", Body=b"2")
    client.put_object(Bucket="data", Key="in2/c.csv", Body=b"3")
    got = download("s3://data/in", tmp_path / "p")
    assert sorted(p.relative_to(tmp_path / "p").as_posix() for p in got) == ["a.csv", "sub/b.csv"]
    (one,) = download("s3://data/in/sub/b.csv", tmp_path / "o")
    assert one.name == "b.csv" and one.read_bytes() == b"2"
    with pytest.raises(UserError, match="s3://data/missing"):
        download("s3://data/missing", tmp_path / "m")
