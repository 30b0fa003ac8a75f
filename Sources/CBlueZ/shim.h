#ifndef PROTON_CBLUEZ_SHIM_H
#define PROTON_CBLUEZ_SHIM_H
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bluetooth/bluetooth.h>
#include <bluetooth/hci.h>
#include <bluetooth/hci_lib.h>
#include <bluetooth/rfcomm.h>
#include <bluetooth/sdp.h>
#include <bluetooth/sdp_lib.h>

/* What Swift cannot import or call safely on its own: macros over compound literals, the
 * sockaddr casts, and BlueZ's SDP list idiom (linked lists of void pointers to stack values).
 * Nothing here keeps state; every function returns -1 with errno set on failure. */

/* BDADDR_ANY and BDADDR_LOCAL are macros over compound literals. */
static inline bdaddr_t proton_bdaddr_any(void) {
    bdaddr_t any = {{0, 0, 0, 0, 0, 0}};
    return any;
}

static inline bdaddr_t proton_bdaddr_local(void) {
    bdaddr_t local = {{0, 0, 0, 0xff, 0xff, 0xff}};
    return local;
}

/* socket(AF_BLUETOOTH, SOCK_STREAM | SOCK_CLOEXEC, BTPROTO_RFCOMM). */
static inline int proton_rfcomm_socket(void) {
    return socket(AF_BLUETOOTH, SOCK_STREAM | SOCK_CLOEXEC, BTPROTO_RFCOMM);
}

static inline int proton_rfcomm_bind(int fd, bdaddr_t local, uint8_t channel) {
    struct sockaddr_rc address;
    memset(&address, 0, sizeof(address));
    address.rc_family = AF_BLUETOOTH;
    address.rc_bdaddr = local;
    address.rc_channel = channel;
    return bind(fd, (struct sockaddr *)&address, sizeof(address));
}

/* The channel a listening socket is bound to (the kernel picks one when bound to 0). */
static inline int proton_rfcomm_local_channel(int fd) {
    struct sockaddr_rc address;
    socklen_t length = sizeof(address);
    memset(&address, 0, sizeof(address));
    if (getsockname(fd, (struct sockaddr *)&address, &length) < 0) return -1;
    return address.rc_channel;
}

/* accept(2) with the peer's address; returns the new descriptor (close-on-exec). */
static inline int proton_rfcomm_accept(int fd, bdaddr_t *peer) {
    struct sockaddr_rc address;
    socklen_t length = sizeof(address);
    memset(&address, 0, sizeof(address));
    int connection = accept4(fd, (struct sockaddr *)&address, &length, SOCK_CLOEXEC);
    if (connection >= 0 && peer) *peer = address.rc_bdaddr;
    return connection;
}

/* Starts a non-blocking connect: 0 when connected at once, -1 with errno EINPROGRESS when the
 * caller should poll for POLLOUT and then read the outcome with proton_socket_error. */
static inline int proton_rfcomm_connect_start(int fd, bdaddr_t remote, uint8_t channel) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -1;
    struct sockaddr_rc address;
    memset(&address, 0, sizeof(address));
    address.rc_family = AF_BLUETOOTH;
    address.rc_bdaddr = remote;
    address.rc_channel = channel;
    return connect(fd, (struct sockaddr *)&address, sizeof(address));
}

/* The pending error of a socket (SO_ERROR): 0 once a non-blocking connect succeeded. */
static inline int proton_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return errno;
    return error;
}

static inline int proton_set_blocking(int fd) {
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0) return -1;
    return fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
}

/* Whether an HCI device is up (HCI_UP in hci_dev_info.flags). */
static inline int proton_hci_is_up(const struct hci_dev_info *info) {
    return (info->flags & (1u << HCI_UP)) != 0;
}

/* The i-th result of hci_inquiry's array. */
static inline bdaddr_t proton_inquiry_address(const inquiry_info *results, int index) {
    return results[index].bdaddr;
}

static inline uint32_t proton_inquiry_class(const inquiry_info *results, int index) {
    const uint8_t *c = results[index].dev_class;
    return (uint32_t)c[0] | ((uint32_t)c[1] << 8) | ((uint32_t)c[2] << 16);
}

/* Registers a record for a 128-bit service class UUID on an RFCOMM channel with the local SDP
 * server (bluetoothd's legacy /run/sdp socket, which needs `bluetoothd -C`). Returns the open
 * session, which must stay open for as long as the record should be advertised (closing it
 * removes the record), or NULL with errno set. */
static inline sdp_session_t *proton_sdp_register_rfcomm(
    const uint8_t uuid_bytes[16], uint8_t channel, const char *name, const char *provider, const char *description) {
    bdaddr_t any = proton_bdaddr_any(), local = proton_bdaddr_local();
    sdp_session_t *session = sdp_connect(&any, &local, SDP_RETRY_IF_BUSY);
    if (!session) return NULL;

    uint128_t value;
    memcpy(&value, uuid_bytes, 16);
    uuid_t service, root, l2cap, rfcomm;
    sdp_uuid128_create(&service, &value);
    sdp_uuid16_create(&root, PUBLIC_BROWSE_GROUP);
    sdp_uuid16_create(&l2cap, L2CAP_UUID);
    sdp_uuid16_create(&rfcomm, RFCOMM_UUID);

    sdp_record_t *record = sdp_record_alloc();
    sdp_data_t *channel_data = sdp_data_alloc(SDP_UINT8, &channel);
    sdp_list_t *classes = sdp_list_append(NULL, &service);
    sdp_list_t *browse = sdp_list_append(NULL, &root);
    sdp_list_t *l2cap_list = sdp_list_append(NULL, &l2cap);
    sdp_list_t *rfcomm_list = sdp_list_append(NULL, &rfcomm);
    sdp_list_append(rfcomm_list, channel_data);
    sdp_list_t *protocols = sdp_list_append(NULL, l2cap_list);
    sdp_list_append(protocols, rfcomm_list);
    sdp_list_t *access = sdp_list_append(NULL, protocols);

    int status = -1;
    if (record && channel_data && classes && browse && l2cap_list && rfcomm_list && protocols && access) {
        sdp_set_service_id(record, service);
        sdp_set_service_classes(record, classes);
        sdp_set_browse_groups(record, browse);
        sdp_set_access_protos(record, access);
        sdp_set_info_attr(record, name, provider, description);
        status = sdp_record_register(session, record, 0);
    }
    int saved = errno;
    sdp_list_free(l2cap_list, NULL);
    sdp_list_free(rfcomm_list, NULL);
    sdp_list_free(protocols, NULL);
    sdp_list_free(access, NULL);
    sdp_list_free(classes, NULL);
    sdp_list_free(browse, NULL);
    if (channel_data) sdp_data_free(channel_data);
    if (record) sdp_record_free(record);
    if (status < 0) {
        sdp_close(session);
        errno = saved ? saved : EIO;
        return NULL;
    }
    return session;
}

/* Asks a remote device's SDP server for records of a 128-bit service class UUID and returns the
 * RFCOMM channel of the first one; 0 when the device has no such record, -1 with errno set when
 * the device could not be asked. Blocks for as long as the L2CAP connection takes. */
static inline int proton_sdp_find_rfcomm_channel(bdaddr_t local, bdaddr_t remote, const uint8_t uuid_bytes[16]) {
    sdp_session_t *session = sdp_connect(&local, &remote, SDP_RETRY_IF_BUSY);
    if (!session) return -1;
    uint128_t value;
    memcpy(&value, uuid_bytes, 16);
    uuid_t service;
    sdp_uuid128_create(&service, &value);
    uint32_t range = 0x0000ffff;
    sdp_list_t *search = sdp_list_append(NULL, &service);
    sdp_list_t *attributes = sdp_list_append(NULL, &range);
    sdp_list_t *responses = NULL;
    int channel = 0;
    int status = search && attributes
        ? sdp_service_search_attr_req(session, search, SDP_ATTR_REQ_RANGE, attributes, &responses) : -1;
    int saved = errno;
    for (sdp_list_t *item = responses; status == 0 && item; item = item->next) {
        sdp_record_t *record = item->data;
        sdp_list_t *protocols = NULL;
        if (channel <= 0 && sdp_get_access_protos(record, &protocols) == 0) {
            int found = sdp_get_proto_port(protocols, RFCOMM_UUID);
            if (found > 0 && found <= 30) channel = found;
            for (sdp_list_t *p = protocols; p; p = p->next) sdp_list_free(p->data, NULL);
            sdp_list_free(protocols, NULL);
        }
        sdp_record_free(record);
    }
    sdp_list_free(responses, NULL);
    sdp_list_free(search, NULL);
    sdp_list_free(attributes, NULL);
    sdp_close(session);
    if (status < 0) {
        errno = saved ? saved : EIO;
        return -1;
    }
    return channel;
}
#endif
