// GEMM. Placeholder: the scalar reference only (the blocked SIMD kernel replaces ss_gemm_f32).
#include "kernels.h"

void ss_gemm_naive_f32(int ta, int tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double acc = 0;  // C[i][j] = Σ_k A[i][k]·B[k][j]
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                acc += (double)a * b;
            }
            float prev = beta == 0.0f ? 0.0f : beta * C[(size_t)i * ldc + j];
            C[(size_t)i * ldc + j] = alpha * (float)acc + prev;
        }
}

void ss_gemm_f32(int ta, int tb, int M, int N, int K, float alpha,
                 const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    ss_gemm_naive_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static int g_threads = 1;
void ss_threads_set(int n) { g_threads = n < 1 ? 1 : n; }
int ss_threads_get(void) { return g_threads; }
