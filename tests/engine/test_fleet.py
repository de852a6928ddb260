"""A model on several deployments (studio.engine.fleet): balanced, a dead server's requests go to the others,
none lost, none saved twice; litellm's model_list file read with clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from studio.core.errors import StudioError
from studio.engine.fleet import load_model_list

ROOT = Path(__file__).resolve().parents[2]


def test_a_killed_server_loses_nothing_and_saves_nothing_twice():
    out = subprocess.run([sys.executable, "bench/fleet.py", "--prompts", "400", "--kill-at", "200",
                          "--latency", "0.05", "--parallel", "16"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "400 done, 0 failed, 0 duplicates, 0 missing" in out.stdout
    served = out.stdout.split("served: ")[1].splitlines()[0].split(", ")
    assert len(served) == 3 and all(int(x.rsplit(": ", 1)[1].replace(",", "")) > 0 for x in served)


def test_repeated_api_base_balances_one_model_and_records_each_sample_s_server(monkeypatch, capsys, tmp_path):
    from tests.support.fake_llm import FakeLLM
    from studio.cli.main import main
    from studio.store import Store

    monkeypatch.setenv("STUDIO_HOME", str(tmp_path))
    servers = [FakeLLM(latency=0.02).start() for _ in range(2)]
    try:
        code = main(["run", "contrast-pairs", "-n", "40", "--model", "openai/fake", "--api-base", servers[0].base_url,
                     "--api-base", servers[1].base_url, "--session", "f", "--concurrency", "4", "--no-cache"])
        got = capsys.readouterr()
        out = " ".join(got.out.split())
        assert code == 0, got.err
        asked = sum(s.count for s in servers)
        assert all(s.count > 0 for s in servers) and asked >= 20
        assert f"served by {servers[0].base_url}" in out
        with Store(tmp_path / "sessions").open("f", read_only=True) as s:
            ends = {x["endpoint"] for x in s.iter_samples()}
            assert len(s) == asked
        assert ends == {servers[0].base_url, servers[1].base_url}
        # the same command again: every sample is held, whichever server made it
        code = main(["run", "contrast-pairs", "-n", "40", "--model", "openai/fake", "--api-base", servers[0].base_url,
                     "--api-base", servers[1].base_url, "--session", "f", "--json", "--no-cache"])
        again = json.loads(capsys.readouterr().out)
        assert (again["held"], again["done"], sum(s.count for s in servers)) == (asked, 0, asked)
        assert main(["show", "f"]) == 0
        shown = " ".join(capsys.readouterr().out.split())
        assert "served by answers deployment" in shown             # a table: each deployment's count beside it
        assert all(f"{x.count} {x.base_url}" in shown for x in servers), shown
    finally:
        for s in servers:
            s.stop()


@pytest.mark.parametrize("text, says", [
    ("model_list: []\n", "no model_list"),
    ("model_list:\n  - model_name: m\n", "needs model_name and litellm_params.model"),
    ("model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, api_key: sk-abc}\n", "a key written"),
    ("model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, api_key: os.environ/NOPE_X}\n",
     "NOPE_X is not set"),
    ("model_list:\n  - model_name: m\n    litellm_params: {model: openai/x, max_parallel_requests: lots}\n",
     "not a whole number"),
    ("model_list: [\n", "not valid YAML"),
    ("model_list:\n  - model_name: m\n    litellm_params: {model: openai/x}\nrouter_settings: {routing_strategy: fast}\n",
     "routing_strategy"),
])
def test_models_file_mistakes_are_clear(tmp_path, monkeypatch, text, says):
    monkeypatch.delenv("NOPE_X", raising=False)
    f = tmp_path / "models.yaml"
    f.write_text(text)
    with pytest.raises(StudioError) as e:
        load_model_list(f)
    assert says in str(e.value.problem.message)


def test_models_file_groups_deployments_by_model_name(tmp_path, monkeypatch):
    monkeypatch.setenv("K1", "secret-1")
    f = tmp_path / "models.yaml"
    f.write_text("model_list:\n"
                 "  - model_name: llama\n    litellm_params: {model: hosted_vllm/l, api_base: 'http://a/v1', "
                 "api_key: os.environ/K1, max_parallel_requests: 64, rpm: 600}\n"
                 "  - model_name: llama\n    litellm_params: {model: hosted_vllm/l, api_base: 'http://b/v1'}\n"
                 "  - model_name: other\n    litellm_params: {model: openai/x}\n"
                 "router_settings: {routing_strategy: simple-shuffle}\n")
    fleets, strategy = load_model_list(f)
    assert strategy == "simple-shuffle" and set(fleets) == {"llama", "other"}
    a, b = fleets["llama"].deployments
    assert (a.api_base, a.api_key, a.max_parallel, a.rpm, b.api_base) == ("http://a/v1", "secret-1", 64, 600, "http://b/v1")
    assert "secret-1" not in repr(a) and "secret-1" not in fleets["llama"].identity


def _fleet_run(tmp_path, servers, per_server: str | list[str], n: int) -> list:
    """n prompts through the engine's fleet over `servers`, each deployment given `per_server` in the file (one
    text for all, or one each)."""
    import asyncio

    from studio.engine import Engine, Request

    each = per_server if isinstance(per_server, list) else [per_server] * len(servers)
    models = tmp_path / "models.yaml"
    models.write_text("model_list:\n" + "".join(
        f"  - model_name: m\n    litellm_params: {{model: openai/fake, api_base: {s.base_url}{extra}}}\n"
        for s, extra in zip(servers, each)))
    fleets, _ = load_model_list(models)

    async def go() -> list:
        engine = Engine(cache_dir=None, concurrency=16, timeout=30, fleets=fleets)
        reqs = (Request([{"role": "user", "content": f"q {i}"}], "m", {"max_tokens": 30}, seed=i, meta=i)
                for i in range(n))
        return [r async for r in engine.run(reqs)]

    return asyncio.run(go())


@pytest.mark.parametrize("declared, rps, tps", [(", rpm: 600", 10.0, None), (", tpm: 12000", None, 200.0)])
def test_declared_rpm_and_tpm_pace_each_deployment_under_a_limit_the_server_never_states(tmp_path, declared, rps,
                                                                                          tps):
    """Servers that enforce a limit but send no x-ratelimit headers (only 429s): the limits written in the
    models file pace each deployment from the first request, so no request is turned away."""
    from tests.support.fake_llm import FakeLLM

    servers = [FakeLLM(limit_rps=rps, limit_tps=tps, limit_headers=False).start() for _ in range(2)]
    try:
        results = _fleet_run(tmp_path, servers, declared, 40)
        assert all(r.ok for r in results) and len(results) == 40
        assert [s.limited for s in servers] == [0, 0]          # paced, never refused
        assert all(s.count >= 15 for s in servers), [s.count for s in servers]   # shared evenly (20 each)
    finally:
        for s in servers:
            s.stop()


def test_each_deployment_takes_a_share_in_proportion_to_its_declared_pace(tmp_path):
    """A deployment declared at twice the tokens per minute serves about twice the requests, from the first
    burst on: requests still queued for a deployment count the pace they will use, and the deployments learn
    what a request costs together (one that has not answered yet does not reserve with a cold guess)."""
    from tests.support.fake_llm import FakeLLM

    servers = [FakeLLM(limit_tps=200.0, limit_headers=False).start(),
               FakeLLM(limit_tps=100.0, limit_headers=False).start()]
    try:
        results = _fleet_run(tmp_path, servers, [", tpm: 12000", ", tpm: 6000"], 60)
        assert all(r.ok for r in results) and len(results) == 60
        assert [s.limited for s in servers] == [0, 0]
        fast, slow = (s.count for s in servers)
        assert 34 <= fast <= 46 and fast + slow == 60, (fast, slow)   # 40 : 20 is the pace's share
    finally:
        for s in servers:
            s.stop()


def test_without_a_declared_limit_the_same_servers_turn_requests_away(tmp_path):
    """The control for the test above: the same servers and prompts with no rpm in the file do meet 429s."""
    from tests.support.fake_llm import FakeLLM

    servers = [FakeLLM(limit_rps=10.0, limit_headers=False).start() for _ in range(2)]
    try:
        results = _fleet_run(tmp_path, servers, "", 40)
        assert all(r.ok for r in results)                      # retried after their Retry-After
        assert sum(s.limited for s in servers) > 0
    finally:
        for s in servers:
            s.stop()


def test_a_deployment_paced_slower_gets_fewer_requests(tmp_path):
    """rpm 600 and rpm 60 in the file: least-busy weighs each deployment's pace, so the slow one does not take
    half the prompts (it did: 15 / 15 of 30, 14.6 s, where the fast one alone takes 3 s)."""
    from tests.support.fake_llm import FakeLLM

    servers = [FakeLLM().start() for _ in range(2)]
    try:
        models = tmp_path / "models.yaml"
        models.write_text("model_list:\n" + "".join(
            f"  - model_name: m\n    litellm_params: {{model: openai/fake, api_base: {s.base_url}, rpm: {rpm}}}\n"
            for s, rpm in zip(servers, (600, 60))))
        import asyncio

        from studio.engine import Engine, Request

        fleets, _ = load_model_list(models)

        async def go() -> list:
            engine = Engine(cache_dir=None, concurrency=16, timeout=30, fleets=fleets)
            reqs = (Request([{"role": "user", "content": f"q {i}"}], "m", {"max_tokens": 30}, seed=i, meta=i)
                    for i in range(30))
            return [r async for r in engine.run(reqs)]

        results = asyncio.run(go())
        fast, slow = servers
        assert all(r.ok for r in results) and fast.count + slow.count == 30
        assert slow.count <= 5, (fast.count, slow.count)
    finally:
        for s in servers:
            s.stop()
