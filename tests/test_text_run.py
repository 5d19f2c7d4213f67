"""Text SHAP through the command line: `clarify-runner run` on examples/text_reviews, and the
plan's text checks as `clarify-runner validate` reports them (no endpoint started)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests

from analyzer.config import TEXT_LANGUAGES, load_config
from analyzer.datasets.header import DatasetHeader
from analyzer.plan.build import build_plan, plan_problems
from analyzer.plan.text import TextShapJob, language_code, parse_pipelines
from container.cli import main
from tests.conftest import CLARIFY_EXAMPLES, REPO_ROOT
from tests.test_text_outputs import structure

EXAMPLE = REPO_ROOT / "examples" / "text_reviews"
REAL_LINE = (
    CLARIFY_EXAMPLES
    / "local_outputs"
    / "real_text_sentence_granularity__explanations_shap_out.jsonl__first_line.json"
)
RECORDS = 6


def _config() -> dict:
    return json.loads((EXAMPLE / "analysis_config.json").read_text())


@pytest.fixture(scope="module")
def text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's review model, trained once for the module (a SageMaker-style model folder)."""
    model = tmp_path_factory.mktemp("text_model") / "model"
    subprocess.run(
        [sys.executable, str(EXAMPLE / "train_model.py"), "--model-dir", str(model)],
        check=True,
        capture_output=True,
    )
    return model


@pytest.fixture(scope="module")
def text_run(tmp_path_factory: pytest.TempPathFactory, text_model: Path) -> dict:
    """The example through `clarify-runner run`: its model behind the subprocess shadow endpoint
    (resolved from a models file), the first reviews, fewer samples than the README run."""
    work = tmp_path_factory.mktemp("text_reviews")
    (work / "models.json").write_text(
        json.dumps({"text-reviews-sklearn": {"model_data_url": str(text_model)}})
    )
    with open(EXAMPLE / "reviews.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    data = work / "reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows[: RECORDS + 1])
    config = _config()
    config["methods"]["shap"]["num_samples"] = 128  # the README run uses the shipped 500
    (work / "analysis_config.json").write_text(json.dumps(config))
    out = work / "output"
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "clarify-runner"),
            "run",
            "--config",
            str(work / "analysis_config.json"),
            "--data",
            str(data),
            "--output",
            str(out),
            "--backend",
            "subprocess",
            "--models-file",
            str(work / "models.json"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    reviews = [r[0] for r in rows[1 : RECORDS + 1]]
    return {"out": out, "log": proc.stderr, "reviews": reviews, "config": config}


def _lines(out: Path) -> list[dict]:
    return [json.loads(x) for x in (out / "explanations_shap" / "out.jsonl").read_text().splitlines()]


def test_run_writes_every_output(text_run: dict) -> None:
    out = text_run["out"]
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "analysis.json",
        "explanations_shap/baseline.csv",
        "explanations_shap/out.jsonl",
        "report.html",
        "report.ipynb",
        "report.pdf",
    ]
    assert (out / "explanations_shap" / "baseline.csv").read_text().splitlines() == ["[MASK],2"]
    log = text_run["log"]
    assert "Text features: review" in log
    assert "Text units: token, language english (en): spaCy" in log and "blank 'en' pipeline" in log
    # the tabular path's lines, naming the files where they end up (not the staging folder)
    shap_dir = out / "explanations_shap"
    assert f" Wrote baseline used to compute explanations to: {shap_dir / 'baseline.csv'}\n" in log
    assert f" Wrote {RECORDS} local explanations to: {shap_dir / 'out.jsonl'}\n" in log


def test_out_jsonl_matches_the_real_line_key_for_key(text_run: dict) -> None:
    real = json.loads(REAL_LINE.read_text())
    real_text_entry = structure(real["explanations"][0])
    lines = _lines(text_run["out"])
    assert len(lines) == RECORDS
    for line, review in zip(lines, text_run["reviews"], strict=True):
        assert list(line) == list(real) == ["explanations"]  # no join column: no join_source_value
        text_entry, votes = line["explanations"]
        assert structure(text_entry) == real_text_entry
        assert (text_entry["feature_name"], text_entry["data_type"]) == ("review", "free_text")
        assert (votes["feature_name"], votes["data_type"]) == ("helpful_votes", "numerical")
        assert [list(a) for a in votes["attributions"]] == [["attribution"]]
        units = text_entry["attributions"]
        assert len(units) >= 20 and all(len(a["attribution"]) == 1 for a in units)
        for unit in units:  # start_idx is the unit's offset in the review as read from the CSV
            start, text = unit["description"]["start_idx"], unit["description"]["partial_text"]
            assert review[start : start + len(text)] == text
        assert [u["description"]["start_idx"] for u in units] == sorted(
            u["description"]["start_idx"] for u in units
        )


def test_analysis_json_has_global_top_shap_text(text_run: dict) -> None:
    out = text_run["out"]
    analysis = json.loads((out / "analysis.json").read_text())
    section = analysis["explanations"]["kernel_shap"]
    assert list(section) == ["label0"]
    label = section["label0"]
    assert list(label) == ["global_shap_values", "expected_value", "global_top_shap_text"]
    assert list(label["global_shap_values"]) == ["review", "helpful_votes"]
    top = label["global_top_shap_text"]["review"]
    assert 0 < len(top) <= text_run["config"]["methods"]["shap"]["text_config"]["max_top_tokens"] == 25
    assert list(top.values()) == sorted(top.values(), reverse=True)
    seen = {
        u["description"]["partial_text"]
        for line in _lines(out)
        for u in line["explanations"][0]["attributions"]
    }
    assert set(top) <= seen
    # mean_abs: a unit's global value is the mean |value| over its occurrences
    first = next(iter(top))
    values = [
        abs(u["attribution"][0])
        for line in _lines(out)
        for u in line["explanations"][0]["attributions"]
        if u["description"]["partial_text"] == first
    ]
    assert top[first] == pytest.approx(sum(values) / len(values))


def test_report_colours_the_units(text_run: dict) -> None:
    html = (text_run["out"] / "report.html").read_text()
    assert "Text explanations" in html
    first = _lines(text_run["out"])[0]["explanations"][0]["attributions"]
    strongest = max(first, key=lambda a: abs(a["attribution"][0]))["description"]["partial_text"]
    assert "background" in html and f">{strongest}</span>" in html


# ------------------------------------------------------------------- sentence and paragraph units

#: Reviews with repeated spaces, punctuation, non-ASCII letters and blank lines between paragraphs.
UNIT_REVIEWS = [
    "Lovely  fabric, soft as silk!  Runs small \u2014 order a size up.\n\n"
    "Update: the caf\u00e9-au-lait colour faded after one wash...   Still, I'd recommend it.",
    "Cheap zipper.   Broke on day two!\n\n\nSeller refunded me; no complaints there.\n\nWould not buy again.",
    "Sch\u00f6n gemacht: the fit is perfect.  \u00c7a va, \u201cgreat\u201d quality.",
]
#: The paragraphs of UNIT_REVIEWS: the text between blank lines.
PARAGRAPHS = [
    [
        "Lovely  fabric, soft as silk!  Runs small \u2014 order a size up.",
        "Update: the caf\u00e9-au-lait colour faded after one wash...   Still, I'd recommend it.",
    ],
    ["Cheap zipper.   Broke on day two!", "Seller refunded me; no complaints there.", "Would not buy again."],
    [UNIT_REVIEWS[2]],
]


@pytest.fixture(scope="module")
def unit_runs(tmp_path_factory: pytest.TempPathFactory, text_model: Path) -> dict:
    """`clarify-runner run --endpoint-url` with sentence and with paragraph granularity on three
    reviews: one endpoint (the example's model) serves both runs; no report."""
    from _model_server import running_endpoint

    work = tmp_path_factory.mktemp("text_units")
    data = work / "reviews.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [
                ["review", "helpful_votes", "recommended"],
                *([r, i + 1, i % 2] for i, r in enumerate(UNIT_REVIEWS)),
            ]
        )
    outputs = {}
    with running_endpoint(text_model) as url:
        for granularity in ("sentence", "paragraph"):
            config = _config()
            del config["methods"]["report"]
            config["methods"]["shap"]["text_config"]["granularity"] = granularity
            path = work / f"{granularity}.json"
            path.write_text(json.dumps(config))
            out = work / granularity
            argv = ["run", "--config", str(path), "--data", str(data), "--output", str(out)]
            assert main([*argv, "--endpoint-url", url]) == 0
            outputs[granularity] = out
        # f(x) of each review and f(baseline) (the baseline row of the config), for additivity
        body = io.StringIO()
        csv.writer(body, lineterminator="\n").writerows(
            [[r, i + 1] for i, r in enumerate(UNIT_REVIEWS)] + _config()["methods"]["shap"]["baseline"]
        )
        response = requests.post(
            url + "/invocations",
            data=body.getvalue().encode(),
            headers={"Content-Type": "text/csv"},
            timeout=30,
        )
        response.raise_for_status()
    scores = [float(row[-1]) for row in csv.reader(io.StringIO(response.text))]  # p(recommended)
    return {"out": outputs, "f": scores[:-1], "f_baseline": scores[-1]}


@pytest.mark.slow
@pytest.mark.parametrize("granularity", ["sentence", "paragraph"])
def test_run_with_sentence_and_paragraph_units(unit_runs: dict, granularity: str) -> None:
    out = unit_runs["out"][granularity]
    analysis = json.loads((out / "analysis.json").read_text())
    label = analysis["explanations"]["kernel_shap"]["label0"]
    expected = label["expected_value"]
    assert expected == pytest.approx(unit_runs["f_baseline"], abs=1e-9)
    lines = _lines(out)
    assert len(lines) == len(UNIT_REVIEWS)
    units_seen = []
    for line, review, fx in zip(lines, UNIT_REVIEWS, unit_runs["f"], strict=True):
        text_entry, votes = line["explanations"]
        assert text_entry["data_type"] == "free_text" and votes["feature_name"] == "helpful_votes"
        units = text_entry["attributions"]
        starts = [u["description"]["start_idx"] for u in units]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
        for unit in units:  # start_idx: the unit's character offset in the review as written
            start, text = unit["description"]["start_idx"], unit["description"]["partial_text"]
            assert text and text == text.rstrip() and review[start : start + len(text)] == text
        units_seen.append([u["description"]["partial_text"] for u in units])
        # additivity: every unit and the vote count add up to f(x) - E[f]
        total = sum(a["attribution"][0] for e in line["explanations"] for a in e["attributions"])
        assert total == pytest.approx(fx - expected, abs=1e-6)
    if granularity == "paragraph":
        assert units_seen == PARAGRAPHS
    else:  # spaCy's blank English pipeline and sentencizer: "..." inside a sentence is no boundary
        assert units_seen == [
            [
                "Lovely  fabric, soft as silk!",
                "Runs small \u2014 order a size up.",
                "Update: the caf\u00e9-au-lait colour faded after one wash...   Still, I'd recommend it.",
            ],
            [
                "Cheap zipper.",
                "Broke on day two!",
                "Seller refunded me; no complaints there.",
                "Would not buy again.",
            ],
            ["Sch\u00f6n gemacht: the fit is perfect.", "\u00c7a va, \u201cgreat\u201d quality."],
        ]


# ------------------------------------------------------------------------------- validate / plan


def _validate(tmp_path: Path, config: dict, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    code = main(["validate", "--config", str(path), "--data", str(EXAMPLE / "reviews.csv")])
    return code, capsys.readouterr().out


def test_validate_accepts_the_example_with_any_letter_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config()
    config["methods"]["shap"]["text_config"] = {"granularity": "Sentence", "language": "German"}
    code, out = _validate(tmp_path, config, capsys)
    assert code == 0, out
    config["methods"]["shap"]["text_config"]["language"] = "DE"
    assert _validate(tmp_path, config, capsys)[0] == 0


def test_validate_rejects_a_bad_language_without_an_endpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config()  # predictor.model_name: validate never starts it
    config["methods"]["shap"]["text_config"]["language"] = "klingon"
    code, out = _validate(tmp_path, config, capsys)
    assert code == 1
    assert "methods.shap.text_config.language" in out and "klingon" in out


def test_validate_reports_every_text_problem_of_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config()
    config["methods"]["shap"]["text_config"]["max_top_tokens"] = -1
    config["predictor"]["content_type"] = "application/x-npy"
    monkeypatch.setenv("CLARIFY_RUNNER_SPACY_PIPELINES", "en=/no/such/pipeline,english,klingon=x")
    code, out = _validate(tmp_path, config, capsys)
    assert code == 1
    assert "5 problem(s)" in out, out
    assert "methods.shap.text_config.max_top_tokens: must be 0 or more, got -1" in out
    assert "predictor.content_type: 'application/x-npy' cannot carry text" in out
    assert "CLARIFY_RUNNER_SPACY_PIPELINES: entry 'english' is not code=pipeline" in out
    assert "CLARIFY_RUNNER_SPACY_PIPELINES: 'klingon' is not a language" in out
    assert "'/no/such/pipeline' for language 'en' is neither an installed spaCy package nor a folder" in out


def test_run_stops_before_the_endpoint_on_a_plan_problem(tmp_path: Path) -> None:
    """`run` fails on a text plan problem at once: no endpoint, no pandas, numba or spaCy imported."""
    config = _config()
    config["methods"]["shap"]["text_config"]["max_top_tokens"] = -3
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    (tmp_path / "models.json").write_text("{}")  # reaching the endpoint would fail differently
    argv = [
        "run",
        "--config",
        str(path),
        "--data",
        str(EXAMPLE / "reviews.csv"),
        "--output",
        str(tmp_path / "out"),
    ]
    argv += ["--backend", "subprocess", "--models-file", str(tmp_path / "models.json")]
    code = (
        "import sys\nfrom container.cli import main\n"
        f"rc = main({argv!r})\n"
        "print(rc, sorted(m for m in ('pandas', 'numba', 'spacy', 'sklearn') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True
    )
    assert proc.stdout.strip().splitlines()[-1] == "1 []"
    assert "max_top_tokens: must be 0 or more, got -3" in proc.stderr
    assert not (tmp_path / "out" / "analysis.json").exists()


def test_text_jobs_preload_spacy() -> None:
    from analyzer.preload import modules_for

    cfg = load_config(json.dumps(_config()).encode())
    assert modules_for(cfg)[:3] == ["analyzer.explain", "analyzer.text_job", "spacy"]


def test_plan_has_a_text_job_with_resolved_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLARIFY_RUNNER_SPACY_PIPELINES", "German=blank")
    config = _config()
    config["methods"]["shap"]["text_config"] = {"granularity": "paragraph", "language": "GERMAN"}
    cfg = load_config(json.dumps(config).encode())
    header = DatasetHeader(columns=("review", "helpful_votes", "recommended"))
    plan = build_plan(cfg, header, str(EXAMPLE / "reviews.csv"))
    job = plan.job(TextShapJob)
    assert job is not None and plan.needs_model
    assert (job.granularity, job.language, job.code, job.max_top_tokens) == ("paragraph", "german", "de", 50)
    assert dict(job.pipelines) == {"de": "blank"}
    assert job.shap.features == ("review", "helpful_votes") and job.shap.num_samples == 500
    assert plan_problems(cfg, header, "reviews.csv") == []


def test_language_names_and_codes() -> None:
    for name, code in zip(TEXT_LANGUAGES[0::2], TEXT_LANGUAGES[1::2], strict=True):
        assert language_code(name.upper()) == code and language_code(f" {code.title()} ") == code
    assert language_code("Multi-Language") == "xx" and language_code("klingon") is None
    problems: list[str] = []
    assert parse_pipelines(" en = en_core_web_md , Japanese=/m/ja,", problems) == {
        "en": "en_core_web_md",
        "ja": "/m/ja",
    }
    assert problems == []


# ------------------------------------------------------------------------------- the job, in process


def _planned_job(tmp_path: Path, csv_text: str, shap: dict, **extra: object):
    from analyzer.datasets.header import read_header
    from analyzer.datasets.loader import load_planned

    data = tmp_path / "data.csv"
    data.write_text(csv_text)
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "y",
        "methods": {"shap": {"seed": 0, "save_local_shap_values": True, **shap}},
        "predictor": {"endpoint_name": "e", "content_type": "text/csv"},
        **extra,
    }
    cfg = load_config(json.dumps(config).encode())
    plan = build_plan(cfg, read_header(cfg, str(data)), str(data))
    job = plan.job(TextShapJob)
    assert job is not None
    return job, load_planned(plan.dataset), plan.dataset


CSV = (
    "id,votes,review,y\n"
    'a,1,"Good fit, soft fabric. Would buy again.",1\n'
    "b,3,Not good at all. Cheap.,0\n"
    'c,2,"Lovely colour, runs small.",1\n'
)


def test_text_job_join_values_baseline_and_pdp_importance(tmp_path: Path) -> None:
    from analyzer.text_job import run_text_shap
    from tests.test_text_shap import toy_model

    shap = {"baseline": [[1, "<UNK>"]], "text_config": {"granularity": "Sentence", "language": "EN"}}
    job, dataset, plan = _planned_job(tmp_path, CSV, shap, joinsource_name_or_index="id")
    run = run_text_shap(
        job, dataset, plan, toy_model, tmp_path / "out", label_names=lambda n: ["p", "score"][:n]
    )
    lines = [
        json.loads(x) for x in (tmp_path / "out" / "explanations_shap" / "out.jsonl").read_text().splitlines()
    ]
    assert [line["join_source_value"] for line in lines] == ["a", "b", "c"]
    assert [list(line) for line in lines] == [["explanations", "join_source_value"]] * 3
    assert [u["description"]["partial_text"] for u in lines[1]["explanations"][1]["attributions"]] == [
        "Not good at all.",
        "Cheap.",
    ]
    assert list(run.section) == ["p", "score"] and list(run.importance.index) == ["votes"]
    # exact Shapley values (3 or 4 players: every coalition): units + votes add up to f(x) - f(reference)
    row = dataset.features()[1]
    reference = toy_model(np.array([[1.0, "<UNK> <UNK>"]], dtype=object))[0]
    total = sum(a["attribution"][1] for e in lines[1]["explanations"] for a in e["attributions"])
    assert total == pytest.approx(toy_model(row[None, :])[0][1] - reference[1])


def test_text_job_errors_name_the_rule_and_the_key(tmp_path: Path) -> None:
    from analyzer.errors import ConfigError, DatasetError
    from analyzer.text_job import run_text_shap
    from tests.test_text_shap import toy_model

    text = {"granularity": "token", "language": "english"}
    job, dataset, plan = _planned_job(tmp_path, "votes,colour,y\n1,red,0\n2,blue,1\n", {"text_config": text})
    with pytest.raises(DatasetError, match="no feature column looks like free text"):
        run_text_shap(job, dataset, plan, toy_model, tmp_path / "o1", label_names=lambda n: ["a", "b"])
    job, dataset, plan = _planned_job(tmp_path, CSV, {"baseline": [["x", 1, 5]], "text_config": text})
    with pytest.raises(ConfigError, match=r"methods.shap.baseline row 0: text feature 'review' needs"):
        run_text_shap(job, dataset, plan, toy_model, tmp_path / "o2", label_names=lambda n: ["a", "b"])


def test_validate_reports_text_problems_found_in_the_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = {
        "version": "1.0",
        "dataset_type": "text/csv",
        "label": "y",
        "methods": {"shap": {"text_config": {"granularity": "token", "language": "en"}}},
        "predictor": {"endpoint_name": "e", "content_type": "text/csv"},
    }
    path = tmp_path / "analysis_config.json"
    path.write_text(json.dumps(config))
    (tmp_path / "plain.csv").write_text("votes,colour,y\n1,red,0\n2,blue,1\n")
    assert main(["validate", "--config", str(path), "--data", str(tmp_path / "plain.csv")]) == 1
    assert "no feature column looks like free text" in capsys.readouterr().out
    (tmp_path / "text.csv").write_text(CSV)
    config["methods"]["shap"]["baseline"] = [["a", 1, 7]]
    path.write_text(json.dumps(config))
    assert main(["validate", "--config", str(path), "--data", str(tmp_path / "text.csv")]) == 1
    assert "methods.shap.baseline row 0: text feature 'review' needs" in capsys.readouterr().out
    config["methods"]["shap"]["baseline"] = [["a", 1, "[MASK]"]]
    path.write_text(json.dumps(config))
    assert main(["validate", "--config", str(path), "--data", str(tmp_path / "text.csv")]) == 0


def test_text_job_on_json_lines_equals_csv(tmp_path: Path) -> None:
    """The same records as JSON Lines (``features`` and ``label`` JMESPaths) give the same values."""
    from analyzer.text_job import run_text_shap
    from tests.test_text_shap import toy_model

    shap = {"baseline": [[1, "[MASK]"]], "text_config": {"granularity": "token", "language": "english"}}
    rows = [r.split(",", 1)[1].rsplit(",", 1) for r in CSV.splitlines()[1:]]
    jsonl = "".join(
        json.dumps({"features": [int(v), text.strip('"')], "label": int(y)}) + "\n"
        for (v, text), y in ((r[0].split(",", 1), r[1]) for r in rows)
    )
    csv_text = "votes,review,y\n" + "\n".join(line.split(",", 1)[1] for line in CSV.splitlines()[1:]) + "\n"
    values = []
    for sub, kind, text in (("c", "text/csv", csv_text), ("j", "application/jsonlines", jsonl)):
        (tmp_path / sub).mkdir()
        extra: dict = {"dataset_type": kind}
        if kind != "text/csv":
            extra |= {"features": "features", "label": "label", "headers": ["votes", "review", "y"]}
        job, dataset, plan = _planned_job(tmp_path / sub, text, shap, **extra)
        run_text_shap(job, dataset, plan, toy_model, tmp_path / sub / "out", label_names=lambda n: ["p", "s"])
        values.append((tmp_path / sub / "out" / "explanations_shap" / "out.jsonl").read_text())
    assert values[0] == values[1] and values[0].count("\n") == 3
