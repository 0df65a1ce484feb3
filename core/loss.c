#include "loss.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const nn_loss_names[] = {"rbf_mse", "rbf_map", "cross_entropy", NULL};

int nn_loss_read(const nn_node *train, nn_loss *out, nn_error *err)
{
    static const char *const keys[] = {"type", "j", NULL};
    const nn_node *n = nn_node_get(train, "loss");
    int kind = NN_LOSS_RBF_MAP;
    out->map_j = 10.0;
    int rc;
    if (n && n->kind == NN_NODE_MAP) {
        rc = nn_node_check_keys(n, keys, "train: loss", err);
        if (!rc)
            rc = nn_map_choice(n, "type", 1, 0, nn_loss_names, "train: loss", &kind, err);
        if (!rc)
            rc = nn_map_double(n, "j", 0, out->map_j, 0.0, 1e6, "train: loss", &out->map_j, err);
    } else {
        rc = nn_map_choice(train, "loss", 0, kind, nn_loss_names, "train", &kind, err);
    }
    out->kind = (nn_loss_kind)kind;
    return rc;
}

int nn_loss_grad_is_preact(const nn_loss *loss) { return loss->kind == NN_LOSS_CROSS_ENTROPY; }

int nn_loss_predict(const nn_loss *loss, const float *y, int n_out)
{
    int best = 0;
    for (int i = 1; i < n_out; i++)
        if (nn_loss_score(loss, y, i) > nn_loss_score(loss, y, best))
            best = i;
    return best;
}

float nn_loss_score(const nn_loss *loss, const float *y, int i)
{
    return loss->kind == NN_LOSS_CROSS_ENTROPY ? y[i] : -y[i];
}

/* MAP criterion for one sample: returns E, writes p_i = e^-y_i / (e^-j + sum e^-y) into p.
 * Shifting by the smallest exponent keeps every term finite. */
static double map_sample(double j, const float *y, int label, int n, float *p)
{
    double m = j;
    for (int i = 0; i < n; i++)
        m = y[i] < m ? y[i] : m;
    double z = exp(-(j - m));
    for (int i = 0; i < n; i++)
        z += exp(-(y[i] - m));
    for (int i = 0; p && i < n; i++)
        p[i] = (float)(exp(-(y[i] - m)) / z);
    return y[label] + (-m + log(z));
}

double nn_loss_eval(const nn_loss *loss, const float *y, const uint8_t *labels, int batch,
                    int n_out, float *grad, int *n_wrong)
{
    return nn_loss_eval_part(loss, y, labels, batch, batch, n_out, grad, n_wrong);
}

double nn_loss_slice(void *ctx, const float *y, int b0, int n, float *dout, int *wrong)
{
    const nn_slice_labels *sl = ctx;
    return nn_loss_eval_part(sl->loss, y, sl->labels + b0, n, sl->batch, sl->n_out, dout, wrong);
}

double nn_loss_eval_part(const nn_loss *loss, const float *y, const uint8_t *labels, int n,
                         int batch, int n_out, float *grad, int *n_wrong)
{
    double total = 0;
    int wrong = 0;
    float inv_b = 1.0f / (float)batch;
    for (int b = 0; b < n; b++) {
        const float *yb = y + (size_t)b * n_out;
        float *gb = grad ? grad + (size_t)b * n_out : NULL;
        int d = labels[b];
        wrong += nn_loss_predict(loss, yb, n_out) != d;
        switch (loss->kind) {
        case NN_LOSS_RBF_MSE:
            total += yb[d];
            if (gb) {
                memset(gb, 0, sizeof(float) * n_out);
                gb[d] = inv_b;
            }
            break;
        case NN_LOSS_RBF_MAP:
            total += map_sample(loss->map_j, yb, d, n_out, gb);
            if (gb) {
                for (int i = 0; i < n_out; i++)
                    gb[i] = ((i == d) - gb[i]) * inv_b;
            }
            break;
        case NN_LOSS_CROSS_ENTROPY:
            total += -log(yb[d] > 1e-30f ? yb[d] : 1e-30f);
            if (gb)
                for (int i = 0; i < n_out; i++)
                    gb[i] = (yb[i] - (i == d)) * inv_b;
            break;
        }
    }
    if (n_wrong)
        *n_wrong = wrong;
    return total;
}

void nn_loss_hdiag(const nn_loss *loss, const float *y, const uint8_t *labels, int batch,
                   int n_out, float *d2, float *g1)
{
    for (int b = 0; b < batch; b++) {
        const float *yb = y + (size_t)b * n_out;
        float *db = d2 + (size_t)b * n_out, *gb = g1 + (size_t)b * n_out;
        int d = labels[b];
        switch (loss->kind) {
        case NN_LOSS_RBF_MSE:
            for (int i = 0; i < n_out; i++) {
                db[i] = 0;
                gb[i] = (i == d);
            }
            break;
        case NN_LOSS_RBF_MAP:
            map_sample(loss->map_j, yb, d, n_out, gb);
            for (int i = 0; i < n_out; i++) {
                float p = gb[i];
                db[i] = p * (1 - p);
                gb[i] = (i == d) - p;
            }
            break;
        case NN_LOSS_CROSS_ENTROPY:
            for (int i = 0; i < n_out; i++) {
                db[i] = yb[i] * (1 - yb[i]);
                gb[i] = yb[i] - (i == d);
            }
            break;
        }
    }
}
