#include "distort.h"

#include <math.h>
#include <string.h>

#include "rng.h"

int nn_distort_read(const nn_node *data, nn_distort_cfg *out, nn_error *err)
{
    static const char *const keys[] = {"translate", "scale", "squeeze", "shear", NULL};
    static const char *const what = "data: distort";
    memset(out, 0, sizeof *out);
    const nn_node *n = nn_node_get(data, "distort");
    if (!n)
        return NN_OK;
    int rc = nn_node_check_keys(n, keys, what, err);
    if (!rc)
        rc = nn_map_double(n, "translate", 0, 0.0, 0.0, 64.0, what, &out->translate, err);
    if (!rc)
        rc = nn_map_double(n, "scale", 0, 0.0, 0.0, 0.9, what, &out->scale, err);
    if (!rc)
        rc = nn_map_double(n, "squeeze", 0, 0.0, 0.0, 0.9, what, &out->squeeze, err);
    if (!rc)
        rc = nn_map_double(n, "shear", 0, 0.0, 0.0, 2.0, what, &out->shear, err);
    out->on = !rc;
    return rc;
}

/* A generator for one (seed, epoch, sample): the three words mixed through the seeding. */
static void sample_rng(nn_rng *rng, uint64_t seed, uint64_t epoch, uint64_t sample)
{
    uint64_t key = seed * 0x9e3779b97f4a7c15ULL ^ (epoch + 1) * 0xd1b54a32d192ed03ULL ^
                   (sample + 1) * 0x8cb92ba72f3d8dd7ULL;
    nn_rng_seed(rng, key);
}

void nn_distort_matrix(const nn_distort_cfg *cfg, uint64_t seed, uint64_t epoch, uint64_t sample,
                       int rows, int cols, int pad, float m[6])
{
    nn_rng rng;
    sample_rng(&rng, seed, epoch, sample);
    double s = 1.0 + cfg->scale * (2 * nn_rng_uniform01(&rng) - 1);
    double q = 1.0 + cfg->squeeze * (2 * nn_rng_uniform01(&rng) - 1);
    double k = cfg->shear * (2 * nn_rng_uniform01(&rng) - 1);
    double tx = cfg->translate * (2 * nn_rng_uniform01(&rng) - 1);
    double ty = cfg->translate * (2 * nn_rng_uniform01(&rng) - 1);
    /* Forward map (source -> output) F = [s q, s q k; 0, s / q], i.e. shear then scale and
     * squeeze; the resampler needs its inverse. */
    double a = s * q, b = s * q * k, d = s / q;
    double ia = 1 / a, ib = -b / (a * d), id = 1 / d;
    double cy = (rows + 2 * pad - 1) / 2.0, cx = (cols + 2 * pad - 1) / 2.0;
    /* src = Finv (dst - c - t) + c - pad */
    m[0] = (float)ia;
    m[1] = (float)ib;
    m[2] = (float)(-ia * (cx + tx) - ib * (cy + ty) + cx - pad);
    m[3] = 0.0f;
    m[4] = (float)id;
    m[5] = (float)(-id * (cy + ty) + cy - pad);
}

static float bilinear(const uint8_t *img, int rows, int cols, float x, float y)
{
    if (!(x > -1.0f && y > -1.0f && x < (float)cols && y < (float)rows))
        return 0.0f;
    int x0 = (int)floorf(x), y0 = (int)floorf(y);
    float fx = x - (float)x0, fy = y - (float)y0;
    float v[4] = {0, 0, 0, 0};
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 2; i++) {
            int xx = x0 + i, yy = y0 + j;
            if (xx >= 0 && yy >= 0 && xx < cols && yy < rows)
                v[j * 2 + i] = img[(size_t)yy * cols + xx];
        }
    return (v[0] * (1 - fx) + v[1] * fx) * (1 - fy) + (v[2] * (1 - fx) + v[3] * fx) * fy;
}

void nn_distort_to_float(const nn_distort_cfg *cfg, const nn_dataset *ds, const size_t *index,
                         size_t count, int pad, float lo, float hi, uint64_t seed, uint64_t epoch,
                         float *out)
{
    int rows = ds->rows, cols = ds->cols, oh = rows + 2 * pad, ow = cols + 2 * pad;
    float scale = (hi - lo) / 255.0f;
    for (size_t s = 0; s < count; s++) {
        const uint8_t *img = ds->images + index[s] * (size_t)rows * cols;
        float m[6];
        nn_distort_matrix(cfg, seed, epoch, index[s], rows, cols, pad, m);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                float sx = m[0] * x + m[1] * y + m[2], sy = m[3] * x + m[4] * y + m[5];
                *out++ = lo + scale * bilinear(img, rows, cols, sx, sy);
            }
    }
}
