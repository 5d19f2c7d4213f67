"""analyzer.storage: local files/folders and S3 objects/prefixes."""

from __future__ import annotations

import pytest
from _dataset_helpers import aws  # noqa: F401
from conftest import free_port

from analyzer import storage
from analyzer.errors import DatasetError


def test_is_s3_and_split():
    assert storage.is_s3("s3://b/k") and not storage.is_s3("/tmp/s3://x")
    assert storage.split_s3_uri("s3://bucket/a/b.csv") == ("bucket", "a/b.csv")
    assert storage.split_s3_uri("s3://bucket") == ("bucket", "")
    with pytest.raises(DatasetError, match="without a bucket"):
        storage.split_s3_uri("s3:///key")


def test_list_local_file_and_folder(tmp_path):
    for rel in [
        "b.csv",
        "a/z.csv",
        "a/b/c.csv",
        "_SUCCESS",
        ".hidden",
        "a/.x/y.csv",
        "_tmp/p.csv",
        "a/part-0.csv.crc",
    ]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    assert storage.list_files(tmp_path) == [str(tmp_path / r) for r in ["a/b/c.csv", "a/z.csv", "b.csv"]]
    assert storage.list_files(tmp_path / "b.csv") == [str(tmp_path / "b.csv")]
    assert storage.read_bytes(tmp_path / "a" / "z.csv") == b"a/z.csv"


def test_local_errors_name_the_path(tmp_path):
    with pytest.raises(DatasetError, match=f"Dataset path not found: '{tmp_path / 'no'}'"):
        storage.list_files(tmp_path / "no")
    with pytest.raises(DatasetError, match="No data files found in folder"):
        storage.list_files(tmp_path)
    with pytest.raises(DatasetError, match="File not found"):
        storage.read_bytes(tmp_path / "no")


def test_s3_object_prefix_and_markers(aws):  # noqa: F811
    for key in [
        "data/p-1.csv",
        "data/p-0.csv",
        "data/sub/p-2.csv",
        "data/_SUCCESS",
        "data/.tmp/x.csv",
        "data/",
        "data.csv",
        "data.csv.bak",
    ]:
        aws.put_object(Bucket="bucket", Key=key, Body=key.encode())
    assert storage.list_files("s3://bucket/data.csv") == ["s3://bucket/data.csv"]
    assert storage.list_files("s3://bucket/data/") == [
        "s3://bucket/data/p-0.csv",
        "s3://bucket/data/p-1.csv",
        "s3://bucket/data/sub/p-2.csv",
    ]
    # S3Prefix semantics: a prefix without '/' also matches sibling keys
    assert storage.list_files("s3://bucket/data.c") == ["s3://bucket/data.csv", "s3://bucket/data.csv.bak"]
    assert storage.read_bytes("s3://bucket/data/p-1.csv") == b"data/p-1.csv"


def test_s3_paginates_large_prefixes(aws, monkeypatch):  # noqa: F811
    monkeypatch.setattr(storage, "S3_PAGE_SIZE", 3)
    keys = [f"many/part-{i:05d}.csv" for i in range(10)]
    for key in keys:
        aws.put_object(Bucket="bucket", Key=key, Body=b"1\n")
    assert storage.list_files("s3://bucket/many") == [f"s3://bucket/{k}" for k in keys]


def test_s3_errors_name_the_uri(aws):  # noqa: F811
    with pytest.raises(DatasetError, match="No data files found under S3 prefix 's3://bucket/nothing'"):
        storage.list_files("s3://bucket/nothing")
    with pytest.raises(DatasetError, match="Unable to read 's3://bucket/missing.csv' from S3"):
        storage.read_bytes("s3://bucket/missing.csv")
    with pytest.raises(DatasetError, match="Unable to read 's3://nobucket/x' from S3"):
        storage.list_files("s3://nobucket/x")


def test_download_local_and_s3(aws, tmp_path):  # noqa: F811
    aws.put_object(Bucket="bucket", Key="dir/model.tar.gz", Body=b"payload")
    out = storage.download("s3://bucket/dir/model.tar.gz", tmp_path)
    assert out == tmp_path / "model.tar.gz" and out.read_bytes() == b"payload"
    copy = storage.download(out, tmp_path / "sub" / "copy.bin")
    assert copy.read_bytes() == b"payload"
    with pytest.raises(DatasetError, match="Unable to read 's3://bucket/none' from S3"):
        storage.download("s3://bucket/none", tmp_path / "none")


def test_aws_endpoint_url_s3_is_honoured(monkeypatch):
    """A real S3-compatible server on 127.0.0.1 is reached through AWS_ENDPOINT_URL_S3 only."""
    boto3 = pytest.importorskip("boto3")
    server_mod = pytest.importorskip("moto.server")
    for var in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    port = free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://127.0.0.1:{port}")
        client = boto3.client("s3")
        client.create_bucket(Bucket="local")
        client.put_object(Bucket="local", Key="in/x.csv", Body=b"a,b\n1,2\n")
        assert storage.list_files("s3://local/in/") == ["s3://local/in/x.csv"]
        assert storage.read_bytes("s3://local/in/x.csv") == b"a,b\n1,2\n"
    finally:
        server.stop()
