"""While PostgreSQL is down the console answers 503 with Retry-After, not 500; once back, 200 (item 5).

A real service on a private cluster, driven over HTTP: the cluster is
stopped, the CRM routes and the login are asked, the cluster is started
again and the same requests succeed.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fault_kit import fault_settings, seed_agents, seed_customer, wait_until
from pg_cluster import PgCluster

from bankcti.app import Service
from bankcti.bus import InProcessBus

WAIT = 10.0


async def test_crm_routes_and_login_answer_503_with_retry_after_while_the_database_is_down(
    pg: PgCluster, pg_db_url: str, tmp_path: Path
) -> None:
    await seed_agents(pg_db_url, ["sue"], role="supervisor")
    customer_id = await seed_customer(pg_db_url, "Zhang Wei", "+8613800138000")
    service = Service(fault_settings(tmp_path, pg_db_url, ami_enabled=False), bus=InProcessBus())
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.ports.http}", timeout=WAIT) as http:
            login = {"login": "sue", "password": "pw-sue"}
            token = (await http.post("/api/login", json=login)).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            requests = [
                ("GET", "/api/crm/customers"),
                ("GET", f"/api/crm/customers/{customer_id}"),
                ("GET", "/api/crm/customers?q=Zhang"),
                ("GET", "/api/crm/reminders/today"),
                ("GET", "/api/reports/contact-center?from=2026-12-01"),
            ]
            for method, path in requests:
                response = await http.request(method, path, headers=auth)
                assert response.status_code in (200, 403, 404), (path, response.status_code, response.text)

            await pg.stop_async("fast")
            for method, path in requests:
                response = await http.request(method, path, headers=auth)
                assert response.status_code == 503, (path, response.status_code, response.text)
                assert response.headers["Retry-After"] == "5", path
                assert "unavailable" in response.json()["detail"], path
            refused = await http.post("/api/login", json=login)
            assert refused.status_code == 503, refused.text
            assert int(refused.headers["Retry-After"]) > 0
            assert "CRM is unavailable" in refused.json()["detail"]

            await pg.start_async()

            async def login_works() -> bool:
                return (await http.post("/api/login", json=login)).status_code == 200

            await wait_until(login_works, within=WAIT, what="the login working again")
            for method, path in requests:
                response = await http.request(method, path, headers=auth)
                assert response.status_code in (200, 403, 404), (path, response.status_code, response.text)
                assert "Retry-After" not in response.headers

            spec = (await http.get("/openapi.json")).json()
            for path, method in (("/api/login", "post"), ("/api/crm/customers", "get")):
                documented = spec["paths"][path][method]["responses"]["503"]
                assert "Retry-After" in documented["headers"], path
    finally:
        await service.close()
