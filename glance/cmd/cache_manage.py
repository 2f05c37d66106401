"""glance-cache-manage: look at and change a glance-api node's image cache.

    glance-cache-manage [options] list-cached
    glance-cache-manage [options] list-queued
    glance-cache-manage [options] queue-image IMAGE_ID
    glance-cache-manage [options] delete-cached-image IMAGE_ID
    glance-cache-manage [options] delete-all-cached-images
    glance-cache-manage [options] delete-queued-image IMAGE_ID
    glance-cache-manage [options] delete-all-queued-images

    glance-cache-manage help [COMMAND]

It takes Glance's options (``-d``, ``-S``, ``--version``, the ``-A -I -K
-N -R -T`` short forms, ``--os-project-id``, ``--os-*-domain-id``...),
before or after the command. It talks to the node's cache API
(``--host``, ``--port``, ``--https``) with the token of
``--os-auth-token`` (``OS_AUTH_TOKEN``) or, without one, one it gets from
Keystone when the auth strategy is ``keystone`` (the default when
``OS_AUTH_URL``, ``OS_USERNAME`` and ``OS_PASSWORD`` are set); destructive
commands ask for confirmation unless ``--force``. Exit status: 0 on
success, 1 when the server is unreachable or refuses or an image id is not
a UUID, 2 on bad usage.
"""
import argparse
import datetime
import os
import sys
import traceback
import uuid

from oslo_log import log as logging
import prettytable

from glance.common import bootstrap
from glance.image_cache import client as cache_client
from glance import version

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


COMMAND_HELP = {
    "list-cached": "List all images currently cached",
    "list-queued": "List all images currently queued for caching",
    "queue-image": "Queue an image for caching",
    "delete-cached-image": "Purge an image from the cache",
    "delete-all-cached-images": "Remove all images from the cache",
    "delete-queued-image": "Delete an image from the cache queue",
    "delete-all-queued-images": "Delete all images from the cache queue",
}


def _commands_text():
    lines = ["commands:", "  %-30s%s" % ("help [COMMAND]",
                                          "Help on one command")]
    for name, (_fn, takes_id) in COMMANDS.items():
        usage = name + (" IMAGE_ID" if takes_id else "")
        lines.append("  %-30s%s" % (usage, COMMAND_HELP[name]))
    return "\n".join(lines)


def make_parser():
    """Glance's glance-cache-manage options (options may follow the
    command); a few of ours on top: --https, --timeout, -v."""
    parser = argparse.ArgumentParser(
        prog=PROG, epilog=_commands_text(),
        description="Manage the image cache of a glance-api node.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="+", metavar="COMMAND",
                        help="A command below, and its IMAGE_ID.")
    _add_connection_args(parser)
    _add_auth_args(parser)
    _add_scope_args(parser)
    parser.add_argument("-f", "--force", action="store_true",
                        help="Do not ask for confirmation.")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="Say what was done.")
    parser.add_argument("-d", "--debug", action="store_true",
                        help="Log at debug level; show the traceback of "
                             "an error.")
    parser.add_argument("--version", action="version",
                        version=version.version_string)
    return parser


def _add_connection_args(parser):
    parser.add_argument("-H", "--host", default="localhost",
                        help="Address of the glance-api node "
                             "(default: %(default)s).")
    parser.add_argument("-p", "--port", type=int, default=9292,
                        help="Its port (default: %(default)s).")
    parser.add_argument("--https", action="store_true",
                        help="Talk HTTPS.")
    parser.add_argument("-k", "--insecure", action="store_true",
                        help="Do not verify the server's certificate.")
    parser.add_argument("--timeout", type=float, default=60,
                        help="Seconds to wait for the server.")


def _alias(parser, dest, *flags, **kwargs):
    """Glance's older spellings of an option, accepted but not listed."""
    parser.add_argument(*flags, dest=dest, help=argparse.SUPPRESS,
                        default=argparse.SUPPRESS, **kwargs)


def _add_auth_args(parser):
    """Token or Keystone login; unset ones come from OS_* variables."""
    parser.add_argument("--os-auth-token", dest="os_auth_token",
                        default=os.environ.get("OS_AUTH_TOKEN"),
                        help="Authentication token (env OS_AUTH_TOKEN).")
    _alias(parser, "os_auth_token", "-A", "--os_auth_token", "--auth_token")
    for flag, short, what in (("username", "-I", "user name"),
                              ("password", "-K", "password"),
                              ("auth-url", "-N", "URL"),
                              ("region-name", "-R", "region; the node "
                                                    "is --host")):
        dest = "os_" + flag.replace("-", "_")
        parser.add_argument("--os-" + flag, dest=dest,
                            help="Keystone %s (env %s)."
                                 % (what, dest.upper()))
        _alias(parser, dest, short, "--" + dest)
    strategies = ("keystone", "noauth")
    parser.add_argument("-S", "--os-auth-strategy", dest="os_auth_strategy",
                        choices=strategies,
                        help="'keystone' logs in when no token is given "
                             "(env OS_AUTH_STRATEGY; default: keystone "
                             "when auth URL, user and password are set).")
    _alias(parser, "os_auth_strategy", "--os_auth_strategy",
           choices=strategies)


def _add_scope_args(parser):
    parser.add_argument("--os-project-name", dest="os_project_name",
                        help="Project to scope the token to (env "
                             "OS_PROJECT_NAME or OS_TENANT_NAME).")
    _alias(parser, "os_project_name", "-T", "--os_project_name",
           "--os-tenant-name", "--os_tenant_name")
    parser.add_argument("--os-project-id", dest="os_project_id",
                        help="Project id, instead of its name (env "
                             "OS_PROJECT_ID).")
    _alias(parser, "os_project_id", "--os_project_id")
    for kind in ("user", "project"):
        parser.add_argument("--os-%s-domain-id" % kind,
                            dest="os_%s_domain_id" % kind,
                            help="Domain id of the %s (env OS_%s_DOMAIN_ID;"
                                 " else --os-domain-id)."
                                 % (kind, kind.upper()))
    parser.add_argument("--os-domain-id", dest="os_domain_id",
                        help="Domain id of the user and the project when "
                             "not given apart (env OS_DOMAIN_ID).")


def parse(argv):
    """``(args, None)``, or ``(None, exit status)`` for help and usage
    errors (2, with argparse's message)."""
    parser = make_parser()
    try:
        args = parser.parse_intermixed_args(argv)
    except SystemExit as e:
        return None, e.code
    name, rest = args.command[0], args.command[1:]
    if name == "help":
        return None, _help(parser, rest)
    if name not in COMMANDS:
        return None, _usage_error(parser, "unknown command %r" % name)
    takes_id = COMMANDS[name][1]
    if len(rest) != (1 if takes_id else 0):
        return None, _usage_error(
            parser, "%s takes %s" % (name, "one IMAGE_ID" if takes_id
                                     else "no argument"))
    args.command, args.image_id = name, (rest[0] if rest else None)
    return args, None


def _help(parser, rest):
    if not rest:
        parser.print_help()
        return 0
    if rest[0] not in COMMANDS:
        return _usage_error(parser, "unknown command %r" % rest[0])
    takes_id = COMMANDS[rest[0]][1]
    print("%s %s%s [options]\n\n    %s." % (
        PROG, rest[0], " IMAGE_ID" if takes_id else "",
        COMMAND_HELP[rest[0]]))
    return 0


def _usage_error(parser, message):
    parser.print_usage(sys.stderr)
    print("%s: error: %s" % (PROG, message), file=sys.stderr)
    return 2


def _valid_image_id(image_id):
    try:
        uuid.UUID(image_id)
    except ValueError:
        return False
    return True


def _client(args):
    return cache_client.get_client(
        args.host, port=args.port, timeout=args.timeout,
        use_ssl=args.https, auth_token=args.os_auth_token,
        username=args.os_username, password=args.os_password,
        tenant=args.os_project_name, project_id=args.os_project_id,
        user_domain_id=args.os_user_domain_id or args.os_domain_id,
        project_domain_id=args.os_project_domain_id or args.os_domain_id,
        auth_url=args.os_auth_url, auth_strategy=args.os_auth_strategy,
        region=args.os_region_name, insecure=args.insecure)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    bootstrap.bootstrap([], prog=PROG, thread_model="native")
    args, status = parse(argv)
    if args is None:
        return status
    if args.debug:  # the debug log on stderr, the answers on stdout
        bootstrap.CONF.set_override("debug", True)
        bootstrap.CONF.set_override("use_stderr", True)
        logging.setup(bootstrap.CONF, "glance")
    if args.image_id is not None and not _valid_image_id(args.image_id):
        print("%s: image ID %r is not a valid UUID" % (PROG, args.image_id),
              file=sys.stderr)
        return 1
    fn, _takes_id = COMMANDS[args.command]
    try:
        return fn(_client(args), args)
    except cache_client.CacheClientError as e:
        if args.debug:
            traceback.print_exc()
        print("%s: %s" % (PROG, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
