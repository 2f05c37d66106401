"""``python -m benchmarks NAME [options]``: run one benchmark."""
import importlib
import sys

NAMES = ("metadata", "datapath", "cachepath", "notifications", "scale",
         "nodes", "versus")


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in NAMES:
        print("usage: python -m benchmarks {%s} [options]" % "|".join(NAMES))
        return 2
    module = importlib.import_module("benchmarks." + sys.argv[1])
    return module.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
