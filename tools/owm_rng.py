"""owm_core's seeding, written from its published algorithms with Python integers: `derive_seed` (FNV-1a over
the label, mixed with the root by SplitMix64) and `Rng` (xoshiro256++ seeded by four SplitMix64 outputs,
Blackman and Vigna, ACM TOMS 47(4), 2021; `below` by Lemire's method, `permutation` by Fisher-Yates from the
last index). Shared by the side-by-side scripts and the known-answer fixture.
"""

M64 = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def derive_seed(root, label):
    h = 0xCBF29CE484222325
    for b in label.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    _, mixed = splitmix64(h)
    _, out = splitmix64(root ^ mixed)
    return out


class Xoshiro:
    """owm_core::Rng: xoshiro256++ seeded through SplitMix64."""

    def __init__(self, seed):
        self.s = []
        for _ in range(4):
            seed, z = splitmix64(seed)
            self.s.append(z)

    def next_u64(self):
        s = self.s
        rotl = lambda x, k: ((x << k) | (x >> (64 - k))) & M64
        result = (rotl((s[0] + s[3]) & M64, 23) + s[0]) & M64
        t = (s[1] << 17) & M64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        while True:
            m = self.next_u64() * n
            low = m & M64
            if low >= n or low >= ((-n) & M64) % n:
                return m >> 64

    def permutation(self, n):
        idx = list(range(n))
        for i in range(n - 1, 0, -1):
            j = self.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]
        return idx

    def next_f64(self):
        return (self.next_u64() >> 11) / float(1 << 53)
