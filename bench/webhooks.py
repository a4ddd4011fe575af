"""Outbound webhook delivery throughput against a receiver on loopback (`python -m bench.webhooks`).

A threaded `http.server` receiver on 127.0.0.1 answers 200 to every POST. In the same run, three figures:
- bare: one POST of the same body per new connection with `http.client` (what any sender pays);
- sender: `delivery_send` for each delivery row, i.e. claim (conditional UPDATE), the order check, signing,
  the POST through the address guard, and recording the answer;
- worker: the same deliveries queued as `send_webhook` jobs and run by django-tasks-db's Worker (what
  `closeloop worker` does), job bookkeeping included.
The ratios to bare are the figure to compare across machines. Uses var/bench/webhooks.sqlite3 unless
DATABASE_URL says otherwise.
"""

import argparse
import http.client
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.pages import say, setup


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def _bare(port: int, body: bytes, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/hook", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        conn.close()
    return count / (time.perf_counter() - started)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args(argv)
    setup("webhooks")
    from django.conf import settings
    from django.db import transaction
    from django_tasks_db.management.commands.db_worker import Worker
    from django_tasks_db.models import DBTaskResult

    from closeloop.core.models import User, WebhookDelivery, WebhookSubscription
    from closeloop.core.webhooks.events import body_for
    from closeloop.core.webhooks.models import WebhookDeliveryStatus
    from closeloop.core.webhooks.sending import delivery_send
    from closeloop.core.webhooks.tasks import send_webhook

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    settings.CLOSELOOP_ROBOT_EXTRA_HOSTS = ["127.0.0.1"]
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("bench_admin", "", "x")
    WebhookSubscription.objects.filter(name="bench").delete()
    subscription = WebhookSubscription.objects.create(name="bench", url=f"http://127.0.0.1:{port}/hook",
                                                      events=["lead.created"], created_by=admin)
    # A body the size of a lead's (the API's LeadOut with a few custom values): ~1.5 KB.
    data = {"id": 1, "company_name": "上海闭环信息科技有限公司", "contact_name": "张三", "mobile": "+8613912345678",
            "need": "需要一套CRM管理销售线索和回款" * 8, "score_details": [{"rule": "预算", "points": 20,
                                                                    "reason": "预算明确"}] * 6}

    def rows():
        made = [WebhookDelivery(subscription=subscription, event="lead.created", record_type="leads.Lead",
                                record_id=n) for n in range(args.deliveries)]
        for delivery in made:
            delivery.body = body_for(delivery, data)
        WebhookDelivery.objects.bulk_create(made, batch_size=500)
        return list(WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDeliveryStatus.PENDING)
                    .values_list("pk", flat=True))

    body = body_for(WebhookDelivery(event="lead.created"), data).encode()
    say(f"Webhook delivery: {args.deliveries:,} deliveries of {len(body):,} bytes to a receiver on loopback; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    _bare(port, body, 50)  # warm up
    bare = _bare(port, body, args.deliveries)
    say(f"{'bare POST (http.client, new connection each)':55} {bare:8.0f} /s")

    ids = rows()
    started = time.perf_counter()
    for pk in ids:
        assert delivery_send(pk=pk) == WebhookDeliveryStatus.DELIVERED
    sender = len(ids) / (time.perf_counter() - started)
    say(f"{'delivery_send (claim, order, sign, guard, POST, record)':55} {sender:8.0f} /s  {sender / bare:6.1%} of bare")

    ids = rows()
    for pk in ids:
        send_webhook.enqueue(pk)
    worker = Worker(queue_names=["*"], interval=0, batch=True, backend_name="default", startup_delay=False,
                    max_tasks=None, worker_id="bench-worker", excluded_queue_names=[])
    started = time.perf_counter()
    while True:
        with transaction.atomic():
            job = DBTaskResult.objects.ready().filter(backend_name="default").get_locked()
            if job is None:
                break
            job.claim(worker.worker_id)
        worker.run_task(job)
    through_worker = len(ids) / (time.perf_counter() - started)
    delivered = WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDeliveryStatus.DELIVERED).count()
    assert delivered == len(ids), (delivered, len(ids))
    say(f"{'the worker (send_webhook jobs, django-tasks-db)':55} {through_worker:8.0f} /s  "
        f"{through_worker / bare:6.1%} of bare")
    say(f"load after: {os.getloadavg()[0]:.1f}")
    subscription.delete()
    server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
