"""The domain of suratdesa, shared by the API, the pages and the worker."""

import warnings

from cryptography.utils import CryptographyDeprecationWarning

# cryptography 51 deprecates DSA, and pyHanko imports its DSA key type: the warning would open every process's
# stderr (and every command's error message) although no key of ours is DSA (ECDSA and RSA only).
warnings.filterwarnings("ignore", message="DSA is deprecated", category=CryptographyDeprecationWarning)
