// <nn.h> read by a C++ compiler: it must compile with warnings as errors, and link, which it
// does only if every declaration has C linkage (extern "C").
#include <nn.h>

#include <cstdio>
#include <cstring>

int main()
{
    nn_error err = {};
    nn_net *net = nullptr;
    const char yaml[] = "input: [1, 4, 4]\nlayers: [{type: dense, units: 3}]\n"
                        "train: {optimizer: sgd}\ndata: {classes: 3}\n";
    if (nn_net_from_yaml(yaml, 0, "cxx", nullptr, &net, &err) != NN_OK) {
        std::fprintf(stderr, "cxx: %s\n", err.msg);
        return 2;
    }
    float x[16] = {1.0f};
    int cls = -1;
    int rc = nn_net_classify(net, x, 1, &cls, &err);
    std::printf("nn %s from C++: %zu parameters, class %d\n", nn_version(),
                nn_graph_param_count(nn_net_graph(net)), cls);
    nn_net_free(net);
    return rc == NN_OK && std::strcmp(nn_version(), NN_VERSION) == 0 ? 0 : 1;
}
