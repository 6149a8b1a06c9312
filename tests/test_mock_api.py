import aiohttp
from aioresponses import aioresponses


async def test_mock_api_serves_json_on_current_aiohttp(mock_api: aioresponses) -> None:
    mock_api.get("https://api.example/v1/x", payload={"ok": True}, status=201)
    async with aiohttp.ClientSession() as session, session.get("https://api.example/v1/x") as r:
        assert r.status == 201
        assert await r.json() == {"ok": True}
