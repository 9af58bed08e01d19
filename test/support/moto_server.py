"""moto's server, one request at a time.

`moto_server` serves requests on threads, and moto does not lock a conditional DynamoDB write
against a concurrent one: two racing conditional updates can both succeed, which real DynamoDB
never allows. Serving requests one at a time makes every write atomic, as DynamoDB's are, so the
lease and claim races the tests run prove the adapter, not moto's threading.
"""
import sys

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

host, port = sys.argv[1], int(sys.argv[2])
run_simple(host, port, DomainDispatcherApplication(create_backend_app), threaded=False, use_reloader=False)
