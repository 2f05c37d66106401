"""glance-cache-manage: look at and change a glance-api node's image cache.

    glance-cache-manage [options] list-cached
    glance-cache-manage [options] list-queued
    glance-cache-manage [options] queue-image IMAGE_ID
    glance-cache-manage [options] delete-cached-image IMAGE_ID
    glance-cache-manage [options] delete-all-cached-images
    glance-cache-manage [options] delete-queued-image IMAGE_ID
    glance-cache-manage [options] delete-all-queued-images

It talks to the node's cache API (``--host``, ``--port``, ``--https``)
with the token of ``--os-auth-token`` (``OS_AUTH_TOKEN``) or, without one,
one it gets from Keystone when the auth strategy is ``keystone`` (the
default when ``OS_AUTH_URL``, ``OS_USERNAME`` and ``OS_PASSWORD`` are set);
destructive commands ask for confirmation unless ``--force``. Exit status:
0 on success, 1 when the server is unreachable or refuses, 2 on bad usage.
"""
import argparse
import datetime
import os
import sys

import prettytable

from glance.common import bootstrap
from glance.image_cache import client as cache_client

PROG = "glance-cache-manage"


def list_cached(client, args):
    images = client.get_cached_images()
    if not images:
        print("No cached images.")
        return 0
    print("Found %d cached images..." % len(images))
    table = prettytable.PrettyTable(["ID", "Last Accessed (UTC)",
                                     "Last Modified (UTC)", "Size", "Hits"])
    table.align["Size"] = table.align["Hits"] = "r"
    for image in images:
        table.add_row([image["image_id"], _when(image["last_accessed"]),
                       _when(image["last_modified"]), image["size"],
                       image["hits"]])
    print(table)
    return 0


def list_queued(client, args):
    images = client.get_queued_images()
    if not images:
        print("No queued images.")
        return 0
    print("Found %d queued images..." % len(images))
    table = prettytable.PrettyTable(["ID"])
    for image_id in images:
        table.add_row([image_id])
    print(table)
    return 0


def queue_image(client, args):
    if not _confirm(args, "Queue image %s for caching?" % args.image_id):
        return 0
    client.queue_image_for_caching(args.image_id)
    _say(args, "Queued image %s for caching" % args.image_id)
    return 0


def delete_cached_image(client, args):
    if not _confirm(args, "Delete cached image %s?" % args.image_id):
        return 0
    client.delete_cached_image(args.image_id)
    _say(args, "Deleted cached image %s" % args.image_id)
    return 0


def delete_all_cached_images(client, args):
    if not _confirm(args, "Delete all cached images?"):
        return 0
    count = client.delete_all_cached_images()
    _say(args, "Deleted %d cached images" % count)
    return 0


def delete_queued_image(client, args):
    if not _confirm(args, "Delete queued image %s?" % args.image_id):
        return 0
    client.delete_queued_image(args.image_id)
    _say(args, "Deleted queued image %s" % args.image_id)
    return 0


def delete_all_queued_images(client, args):
    if not _confirm(args, "Delete all queued images?"):
        return 0
    count = client.delete_all_queued_images()
    _say(args, "Deleted %d queued images" % count)
    return 0


COMMANDS = {
    "list-cached": (list_cached, False),
    "list-queued": (list_queued, False),
    "queue-image": (queue_image, True),
    "delete-cached-image": (delete_cached_image, True),
    "delete-all-cached-images": (delete_all_cached_images, False),
    "delete-queued-image": (delete_queued_image, True),
    "delete-all-queued-images": (delete_all_queued_images, False),
}


def _when(timestamp):
    if not timestamp:
        return "N/A"
    return datetime.datetime.fromtimestamp(
        float(timestamp), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _say(args, message):
    if args.verbose:
        print(message)


def _confirm(args, question):
    if args.force:
        return True
    try:
        answer = input("%s [y/N] " % question)
    except EOFError:
        answer = ""
    if answer.strip().lower() in ("y", "yes"):
        return True
    print("Not confirmed; nothing done.")
    return False


def make_parser():
    parser = argparse.ArgumentParser(
        prog=PROG, description="Manage the image cache of a glance-api "
                               "node.")
    env = os.environ
    parser.add_argument("-H", "--host", default="localhost",
                        help="Address of the glance-api node "
                             "(default: %(default)s).")
    parser.add_argument("-p", "--port", type=int, default=9292,
                        help="Its port (default: %(default)s).")
    parser.add_argument("-A", "--os-auth-token", "--auth_token",
                        dest="os_auth_token",
                        default=env.get("OS_AUTH_TOKEN"),
                        help="Authentication token (env OS_AUTH_TOKEN).")
    # Keystone login, when no token is given; what is left unset comes
    # from the OS_* variables in cache_client.get_client.
    parser.add_argument("--os-username", "--os_username",
                        dest="os_username", help="Keystone user name "
                                                 "(env OS_USERNAME).")
    parser.add_argument("--os-password", "--os_password",
                        dest="os_password", help="Keystone password "
                                                 "(env OS_PASSWORD).")
    parser.add_argument("--os-project-name", "--os-tenant-name",
                        "--os_tenant_name", dest="os_project_name",
                        help="Keystone project (env OS_PROJECT_NAME or "
                             "OS_TENANT_NAME).")
    parser.add_argument("--os-auth-url", "--os_auth_url", dest="os_auth_url",
                        help="Keystone URL (env OS_AUTH_URL).")
    parser.add_argument("--os-region-name", "--os_region_name",
                        dest="os_region_name",
                        help="Region (env OS_REGION_NAME); kept for "
                             "compatibility: the node is --host.")
    parser.add_argument("--os-auth-strategy", "--os_auth_strategy",
                        dest="os_auth_strategy",
                        choices=("keystone", "noauth"),
                        help="'keystone' logs in when no token is given "
                             "(env OS_AUTH_STRATEGY; default: keystone "
                             "when auth URL, user and password are set).")
    parser.add_argument("--https", action="store_true",
                        help="Talk HTTPS.")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="Do not verify the server's certificate.")
    parser.add_argument("--timeout", type=float, default=60,
                        help="Seconds to wait for the server.")
    parser.add_argument("-f", "--force", action="store_true",
                        help="Do not ask for confirmation.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="Say what was done.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (_fn, takes_id) in COMMANDS.items():
        cmd = sub.add_parser(name)
        if takes_id:
            cmd.add_argument("image_id", metavar="IMAGE_ID")
    return parser


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    bootstrap.bootstrap([], prog=PROG, thread_model="native")
    try:
        args = make_parser().parse_args(argv)
    except SystemExit as e:
        return e.code
    client = cache_client.get_client(
        args.host, port=args.port, timeout=args.timeout,
        use_ssl=args.https, auth_token=args.os_auth_token,
        username=args.os_username, password=args.os_password,
        tenant=args.os_project_name, auth_url=args.os_auth_url,
        auth_strategy=args.os_auth_strategy, region=args.os_region_name,
        insecure=args.insecure)
    fn, _takes_id = COMMANDS[args.command]
    try:
        return fn(client, args)
    except cache_client.CacheClientError as e:
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
