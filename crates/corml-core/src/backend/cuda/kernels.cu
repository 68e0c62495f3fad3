// Elementwise kernels of the CoRML solve, compiled at first use with NVRTC (see
// docs/architecture.md, "CUDA backend"). Matrices are column-major without padding: entry (i, j)
// of an n-row matrix is at j * n + i. Indices are 64-bit so that n² may exceed 2³¹.
//
// The pair kernels (`admm_step`, `symmetrize`) run one 32 × 32 tile and its mirror per block, for
// the tiles on or above the diagonal: the mirrored tile is read coalesced into shared memory, the
// pair (i, j), (j, i) is combined, and the mirrored results leave through shared memory again.
// Each entry is written by one thread only, so no pass races with itself.

#define TILE 32
#define ROWS 8

typedef unsigned long long u64;

// m <- alpha * m + diag(d)
extern "C" __global__ void scale_add_diagonal(float* m, u64 rows, u64 cols, float alpha,
                                              const float* d) {
    const u64 len = rows * cols;
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 k = (u64)blockIdx.x * blockDim.x + threadIdx.x; k < len; k += stride) {
        const u64 j = k / rows;
        const u64 i = k - j * rows;
        float x = alpha * m[k];
        if (i == j) x += d[j];
        m[k] = x;
    }
}

// m_ij <- -left_i * max(0, m_ij) * right_j off the diagonal, m_ii <- 0
extern "C" __global__ void hollow_clamp_scale(float* m, u64 n, const float* left,
                                              const float* right) {
    const u64 len = n * n;
    const u64 stride = (u64)gridDim.x * blockDim.x;
    for (u64 k = (u64)blockIdx.x * blockDim.x + threadIdx.x; k < len; k += stride) {
        const u64 j = k / n;
        const u64 i = k - j * n;
        m[k] = (i == j) ? 0.0f : -left[i] * fmaxf(0.0f, m[k]) * right[j];
    }
}

// ell_j = (h_jj + b_jj) / (ainv_jj + 1e-10): the multipliers that zero the diagonal of H.
extern "C" __global__ void admm_diagonal_lag(const float* h, const float* b, const float* ainv,
                                             float* ell, u64 n) {
    const u64 j = (u64)blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) {
        const u64 jj = j * n + j;
        ell[j] = (h[jj] + b[jj]) / (ainv[jj] + 1e-10f);
    }
}

// One ADMM iteration after h = Ainv * X, for the tile pair (R, C), R <= C:
//   H = h + b - ainv * diag(ell);  S = max(0, (H + G + (H + G)^T) / 2);  G <- G + H - S;
//   s <- rho * (S - G) when next_rhs, else s <- S and h <- H.
extern "C" __global__ void admm_step(float* h, const float* b, const float* ainv,
                                     const float* ell, float* gamma, float* s, u64 n, float rho,
                                     int next_rhs) {
    const u64 R = blockIdx.y, C = blockIdx.x;
    if (R > C) return;
    __shared__ float sh[TILE][TILE + 1];
    __shared__ float sb[TILE][TILE + 1];
    __shared__ float sa[TILE][TILE + 1];
    __shared__ float sg[TILE][TILE + 1];
    const unsigned tx = threadIdx.x, ty = threadIdx.y;

    // Mirrored tile: rows in block C, columns in block R, read along its columns.
    // sX[k][tx] holds X(C*TILE + tx, R*TILE + k).
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 row = C * TILE + tx, col = R * TILE + k;
        if (row < n && col < n) {
            const u64 at = col * n + row;
            sh[k][tx] = h[at];
            sb[k][tx] = b[at];
            sa[k][tx] = ainv[at];
            sg[k][tx] = gamma[at];
        }
    }
    __syncthreads();

    // Pair i = R*TILE + tx, j = C*TILE + k: upper entry (i, j) from global memory, mirrored
    // entry (j, i) from sX[tx][k]. The mirrored results go back to sX[tx][k], a cell only this
    // thread reads or writes.
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 i = R * TILE + tx, j = C * TILE + k;
        if (i < n && j < n) {
            const u64 at = j * n + i;
            const float hu = h[at] + b[at] - ell[j] * ainv[at];
            const float hl = sh[tx][k] + sb[tx][k] - ell[i] * sa[tx][k];
            const float gu0 = gamma[at], gl0 = sg[tx][k];
            const float sv = fmaxf(0.0f, 0.5f * ((hu + gu0) + (hl + gl0)));
            const float gu = gu0 + hu - sv, gl = gl0 + hl - sv;
            gamma[at] = gu;
            s[at] = next_rhs ? rho * (sv - gu) : sv;
            if (!next_rhs) h[at] = hu;
            sg[tx][k] = gl;
            sb[tx][k] = next_rhs ? rho * (sv - gl) : sv;
            sh[tx][k] = hl;
        }
    }
    __syncthreads();

    // A diagonal tile is its own mirror: every entry was written above as an upper entry.
    if (R == C) return;
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 row = C * TILE + tx, col = R * TILE + k;
        if (row < n && col < n) {
            const u64 at = col * n + row;
            gamma[at] = sg[k][tx];
            s[at] = sb[k][tx];
            if (!next_rhs) h[at] = sh[k][tx];
        }
    }
}

// m <- (m + m^T) / 2, exactly symmetric (the two sums are the same float additions).
extern "C" __global__ void symmetrize(float* m, u64 n) {
    const u64 R = blockIdx.y, C = blockIdx.x;
    if (R > C) return;
    __shared__ float sm[TILE][TILE + 1];
    const unsigned tx = threadIdx.x, ty = threadIdx.y;
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 row = C * TILE + tx, col = R * TILE + k;
        if (row < n && col < n) sm[k][tx] = m[col * n + row];
    }
    __syncthreads();
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 i = R * TILE + tx, j = C * TILE + k;
        if (i < n && j < n) {
            const u64 at = j * n + i;
            const float mean = 0.5f * (m[at] + sm[tx][k]);
            m[at] = mean;
            sm[tx][k] = mean;
        }
    }
    __syncthreads();
    if (R == C) return;
    for (unsigned k = ty; k < TILE; k += ROWS) {
        const u64 row = C * TILE + tx, col = R * TILE + k;
        if (row < n && col < n) m[col * n + row] = sm[k][tx];
    }
}
