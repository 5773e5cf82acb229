# Shared inline helpers of the Cython kernels: activations and row-major GEMM.
from cython cimport floating
from libc.math cimport exp, tanh
cimport scipy.linalg.cython_blas as blas


cdef inline double activate(double x, int code) noexcept nogil:
    if code == 0:
        return tanh(x)
    if code == 1:
        return 1.0 / (1.0 + exp(-x))
    if code == 2:
        x = x / 6.0 + 0.5
        return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)
    if code == 3:
        return x if x > 0.0 else 0.0
    return x


cdef inline double activate_grad(double y, int code) noexcept nogil:
    if code == 0:
        return 1.0 - y * y
    if code == 1:
        return y * (1.0 - y)
    if code == 2:
        return 1.0 / 6.0 if (y > 0.0 and y < 1.0) else 0.0
    if code == 3:
        return 1.0 if y > 0.0 else 0.0
    return 1.0


cdef inline void gemm(bint trans_a, bint trans_b, int m, int n, int k, const floating* A, int lda,
                      const floating* B, int ldb, floating* C, int ldc, bint accumulate) noexcept nogil:
    # Row-major C(m, n) = op(A) @ op(B) (+ C when accumulate), op(X) = X.T when trans_x.
    # Column-major BLAS sees the transposes, so it computes C^T = op(B)^T op(A)^T.
    cdef floating one = 1.0
    cdef floating beta = 1.0 if accumulate else 0.0
    cdef char ta = b'T' if trans_a else b'N'
    cdef char tb = b'T' if trans_b else b'N'
    if m == 0 or n == 0:
        return
    if floating is double:
        blas.dgemm(&tb, &ta, &n, &m, &k, &one, <double*>B, &ldb, <double*>A, &lda, &beta, C, &ldc)
    else:
        blas.sgemm(&tb, &ta, &n, &m, &k, &one, <float*>B, &ldb, <float*>A, &lda, &beta, C, &ldc)


cdef inline int chunk_lo(int B, int n_chunks, int j) noexcept nogil:
    # First row of batch slice j (slice j is [chunk_lo(j), chunk_lo(j + 1))).
    cdef int size = (B + n_chunks - 1) // n_chunks
    return min(j * size, B)


cdef inline int active_end(const int[::1] start, int lo, int hi, int t) noexcept nogil:
    cdef int b, end = lo
    for b in range(lo, hi):
        if start[b] <= t:
            end = b + 1
    return end
