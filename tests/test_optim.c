/* Optimizers and learning-rate schedules against hand computations. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "train.h"

static nn_doc *doc_of(const char *yaml)
{
    nn_error err = {0};
    nn_doc *doc = NULL;
    cr_assert_eq(nn_doc_load_string(yaml, strlen(yaml), "t.yaml", &doc, &err), NN_OK, "%s",
                 err.msg);
    return doc;
}

static nn_train_cfg read_cfg(const char *yaml)
{
    nn_error err = {0};
    nn_doc *doc = doc_of(yaml);
    nn_train_cfg cfg;
    cr_assert_eq(nn_train_cfg_read(nn_doc_root(doc), &cfg, &err), NN_OK, "%s", err.msg);
    nn_doc_free(doc);
    return cfg;
}

static void expect_cfg_error(const char *yaml, const char *want)
{
    nn_error err = {0};
    nn_doc *doc = doc_of(yaml);
    nn_train_cfg cfg;
    cr_assert_eq(nn_train_cfg_read(nn_doc_root(doc), &cfg, &err), NN_E_CONFIG);
    cr_assert_str_eq(err.msg, want);
    nn_doc_free(doc);
}

/* Three Adam steps on two parameters, against the textbook update in double precision. */
Test(optim, adam_follows_kingma_and_ba)
{
    nn_train_cfg cfg = read_cfg("train: {optimizer: {type: adam, beta1: 0.8, beta2: 0.9, "
                                "eps: 0.001}, lr: 0.1}\n");
    cr_assert_eq(cfg.optim.kind, NN_OPT_ADAM);
    nn_error err = {0};
    nn_optim *o;
    cr_assert_eq(nn_optim_new(&cfg.optim, 2, &o, &err), NN_OK);
    cr_assert_eq(nn_optim_state_count(o), 6);
    nn_optim_set_lr(o, 0.1);
    float p[2] = {1.0f, -2.0f};
    double q[2] = {1.0, -2.0}, m[2] = {0, 0}, v[2] = {0, 0};
    const float g[3][2] = {{0.5f, -1.0f}, {0.25f, 2.0f}, {-0.75f, 0.1f}};
    for (int t = 1; t <= 3; t++) {
        float grad[2] = {g[t - 1][0], g[t - 1][1]};
        cr_assert_eq(nn_optim_step(o, p, grad), 0);
        cr_assert(grad[0] == 0.0f && grad[1] == 0.0f, "the step zeroes the gradients");
        for (int k = 0; k < 2; k++) {
            m[k] = 0.8 * m[k] + 0.2 * g[t - 1][k];
            v[k] = 0.9 * v[k] + 0.1 * g[t - 1][k] * g[t - 1][k];
            double mh = m[k] / (1 - pow(0.8, t)), vh = v[k] / (1 - pow(0.9, t));
            q[k] -= 0.1 * mh / (sqrt(vh) + 0.001);
            cr_assert_float_eq(p[k], q[k], 1e-5, "step %d param %d: %g vs %g", t, k, p[k], q[k]);
        }
    }
    /* the step count is part of the saved state */
    cr_assert_eq(o->state[4], 3.0f);
    cr_assert_eq(o->state[5], 0.0f);
    nn_optim_free(o);
}

Test(optim, sgd_momentum_by_hand)
{
    nn_train_cfg cfg = read_cfg("train: {optimizer: {type: sgd, momentum: 0.5}, lr: 0.1}\n");
    nn_error err = {0};
    nn_optim *o;
    cr_assert_eq(nn_optim_new(&cfg.optim, 1, &o, &err), NN_OK);
    nn_optim_set_lr(o, 0.1);
    float p = 1.0f, g = 2.0f;
    cr_assert_eq(nn_optim_step(o, &p, &g), 0); /* v = -0.2 */
    cr_assert_eq(g, 0.0f);
    g = 2.0f;
    cr_assert_eq(nn_optim_step(o, &p, &g), 0); /* v = -0.1 - 0.2 */
    cr_assert_float_eq(p, 1.0f - 0.2f - 0.3f, 1e-6);
    g = NAN;
    cr_assert_eq(nn_optim_step(o, &p, &g), 1, "a NaN gradient is reported");
    nn_optim_free(o);
}

Test(optim, keys_of_another_optimizer_are_refused)
{
    expect_cfg_error("train:\n  optimizer: {type: adam, momentum: 0.9}\n",
                     "t.yaml:2:37: train: optimizer: 'momentum' belongs to sgd, not adam");
    expect_cfg_error("train:\n  optimizer: {type: sgd, beta1: 0.9}\n",
                     "t.yaml:2:33: train: optimizer: 'beta1' belongs to adam, not sgd");
    expect_cfg_error("train:\n  optimizer: {type: sdlm, weight_decay: 0.1}\n",
                     "t.yaml:2:41: train: optimizer: 'weight_decay' belongs to sgd and adam, "
                     "not sdlm");
}

Test(schedule, step_and_cosine)
{
    nn_train_cfg st =
        read_cfg("train: {epochs: 9, schedule: {type: step, lr: 0.1, every: 3, gamma: 0.5}}\n");
    cr_assert_eq(st.schedule, NN_SCHED_STEP);
    static const double want[9] = {0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025};
    for (int e = 0; e < 9; e++)
        cr_assert_float_eq(nn_train_cfg_lr(&st, e), want[e], 1e-12, "epoch %d", e);
    nn_train_cfg co =
        read_cfg("train: {epochs: 4, schedule: {type: cosine, lr: 0.2, min_lr: 0.02}}\n");
    cr_assert_float_eq(nn_train_cfg_lr(&co, 0), 0.2, 1e-12);
    cr_assert_float_eq(nn_train_cfg_lr(&co, 2), 0.11, 1e-12); /* halfway */
    const double pi = 3.14159265358979323846;
    cr_assert_float_eq(nn_train_cfg_lr(&co, 1), 0.02 + 0.18 * (1 + cos(pi / 4)) / 2, 1e-12);
    co.epochs = 8; /* --epochs stretches the curve */
    cr_assert_float_eq(nn_train_cfg_lr(&co, 4), 0.11, 1e-12);
    nn_train_cfg list = read_cfg("train: {schedule: [[2, 0.5], [1, 0.25]]}\n");
    cr_assert_eq(list.schedule, NN_SCHED_LIST);
    cr_assert_float_eq(nn_train_cfg_lr(&list, 1), 0.5, 1e-12);
    cr_assert_float_eq(nn_train_cfg_lr(&list, 7), 0.25, 1e-12);
}

Test(schedule, bad_rules_are_refused)
{
    expect_cfg_error("train:\n  schedule: {type: cosine, lr: 0.1, gamma: 0.5}\n",
                     "t.yaml:2:44: train: schedule: 'gamma' does not belong to a cosine schedule");
    expect_cfg_error("train:\n  schedule: {type: step, lr: 0.1}\n",
                     "t.yaml:2:13: train: schedule: missing required key 'every'");
    expect_cfg_error("train:\n  schedule: {type: linear, lr: 0.1}\n",
                     "t.yaml:2:20: train: schedule: key 'type': unknown value 'linear' (expected "
                     "one of: step, cosine)");
    expect_cfg_error("train:\n  lr: 0.1\n  schedule: {type: cosine, lr: 0.1}\n",
                     "t.yaml:2:7: train: give either 'lr' or 'schedule', not both");
}
