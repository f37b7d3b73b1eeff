"""`pytest tests/bench -s -m bench`: the serve benchmark as a test (not part of the normal run)."""

import bench_serve
import pytest


@pytest.mark.bench
def test_graph_endpoint_keeps_up_with_handwritten_aiohttp():
    code = bench_serve.main([])
    assert code != 2, "the benchmark could not measure: see its output above"
    assert code == 0, f"the graph endpoint is below {bench_serve.TARGET}x the hand-written one"
