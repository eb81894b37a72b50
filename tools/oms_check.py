#!/usr/bin/env python3
"""OpenSSF Model Signing's reference tool (PyPI `model-signing`, with `pyopenssl`) on OWM bundle folders.

    oms_check.py verify BUNDLE PUBLIC_KEY   # exit 0 when BUNDLE/model.sig verifies, 1 (printing why) when not
    oms_check.py sign BUNDLE PRIVATE_KEY    # writes BUNDLE/model.sig, as `model_signing sign key` does

Both use the library's public API with the command line's defaults (git's files ignored, no symbolic links),
so the OWM tests check `owm sign` against the reference verifier and `owm verify` against the reference
signer.
"""

import pathlib
import sys

from model_signing import hashing, signing, verifying


def main() -> int:
    command, bundle, key = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    signature = bundle / "model.sig"
    if command == "verify":
        try:
            verifying.Config().use_elliptic_key_verifier(public_key=key).verify(bundle, signature)
        except ValueError as e:
            print(f"model_signing refused {bundle}: {e}")
            return 1
        print(f"model_signing verified {bundle}")
        return 0
    if command == "sign":
        ignored = hashing.Config().set_ignored_paths(paths=[signature.name], ignore_git_paths=True)
        signing.Config().use_elliptic_key_signer(private_key=key).set_hashing_config(ignored).sign(bundle, signature)
        print(f"model_signing signed {bundle}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
