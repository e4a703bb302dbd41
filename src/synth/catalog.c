/* The static catalogue of the synthetic world: categories with readable Sri Lankan grocery
 * items and typical prices (LKR, 2024), brands, the configured affinities between categories
 * and between items (bread -> butter, jam; pasta -> sauce; ...), cities with the stores, and
 * name pools. The generator draws from these; nothing here is random. */
#include "synth/synth_internal.h"

#define N(a) ((uint32_t)(sizeof(a) / sizeof((a)[0])))

static const syn_item bakery[] = {
    {"Bread", 180},       {"Sandwich Bread", 280}, {"Tea Buns", 80},     {"Fish Buns", 120},
    {"Croissant", 220},   {"Chocolate Cake", 950}, {"Butter Cake", 650}, {"Roast Paan", 150},
    {"Hoppers Mix", 450}, {"Muffins", 350},
};
static const syn_item dairy[] = {
    {"Butter", 980},       {"Fresh Milk 1L", 520}, {"Milk Powder 400g", 1150},
    {"Yoghurt", 90},       {"Buffalo Curd", 650},  {"Cheese Slices", 890},
    {"Eggs 10 pack", 550}, {"Cream Cheese", 1050}, {"Flavoured Milk", 160},
};
static const syn_item spreads[] = {
    {"Jam", 650},
    {"Peanut Butter", 990},
    {"Bee Honey", 1200},
    {"Marmite", 1350},
    {"Cornflakes", 1250},
    {"Rolled Oats", 800},
    {"Kithul Treacle", 900},
    {"Chocolate Spread", 1100},
};
static const syn_item rice[] = {
    {"Basmati Rice 5kg", 3600},        {"Samba Rice 5kg", 1450}, {"Red Rice 5kg", 1300},
    {"Keeri Samba 5kg", 1600},         {"Nadu Rice 5kg", 1100},  {"Red Dhal 1kg", 420},
    {"Wheat Flour 1kg", 260},          {"Chickpeas 1kg", 650},   {"Green Gram 1kg", 900},
    {"String Hoppers Flour 1kg", 380},
};
static const syn_item pasta[] = {
    {"Spaghetti 500g", 480},  {"Penne 500g", 520},      {"Macaroni 500g", 450},
    {"Instant Noodles", 130}, {"Rice Noodles", 350},    {"Egg Noodles", 420},
    {"Lasagne Sheets", 750},  {"Kottu Roti Pack", 320},
};
static const syn_item sauces[] = {
    {"Pasta Sauce", 780}, {"Tomato Sauce", 420},   {"Chilli Sauce", 390},     {"Soy Sauce", 350},
    {"Mayonnaise", 690},  {"Pol Sambol Mix", 250}, {"Lunu Miris Paste", 280}, {"Vinegar", 220},
};
static const syn_item spices[] = {
    {"Curry Powder 100g", 320}, {"Chilli Powder 100g", 290}, {"Turmeric 100g", 240},
    {"Cinnamon 50g", 450},      {"Black Pepper 50g", 380},   {"Cardamom 25g", 520},
    {"Goraka 100g", 260},       {"Curry Leaves", 50},        {"Mustard Seeds 100g", 150},
    {"Fenugreek 100g", 180},
};
static const syn_item beverages[] = {
    {"Ceylon Tea 400g", 1150},   {"Tea Bags 100", 950},       {"Coffee 200g", 1450},
    {"Ginger Beer 1.5L", 380},   {"Cola 1.5L", 360},          {"Orange Juice 1L", 650},
    {"Mineral Water 1.5L", 130}, {"King Coconut Water", 220}, {"Malted Milk Drink 400g", 1250},
    {"Faluda Syrup", 520},
};
static const syn_item snacks[] = {
    {"Cream Crackers", 380},   {"Marie Biscuits", 240}, {"Chocolate Bar", 390},
    {"Potato Chips", 320},     {"Murukku", 250},        {"Chocolate Biscuits", 420},
    {"Cashew Nuts 100g", 750}, {"Kokis", 400},          {"Lemon Puff", 280},
    {"Wafers", 200},
};
static const syn_item produce[] = {
    {"Bananas 1kg", 380},         {"Big Onions 1kg", 420}, {"Potatoes 1kg", 450},
    {"Tomatoes 500g", 280},       {"Carrots 500g", 300},   {"Coconut", 180},
    {"Green Chillies 250g", 250}, {"Beans 500g", 320},     {"Leeks 500g", 260},
    {"Limes 250g", 200},
};
static const syn_item meat[] = {
    {"Chicken 1kg", 1450},    {"Chicken Sausages", 780},  {"Tuna 500g", 1250},
    {"Prawns 500g", 1900},    {"Dried Sprats 200g", 550}, {"Mutton 500g", 2600},
    {"Seer Fish 500g", 2100},
};
static const syn_item canned[] = {
    {"Coconut Milk 400ml", 420}, {"Coconut Milk Powder 300g", 690},
    {"Canned Fish 425g", 720},   {"Baked Beans", 420},
    {"Sweet Corn", 450},         {"Soya Meat 90g", 180},
    {"Jelly Crystals", 190},     {"Custard Powder", 380},
};
static const syn_item frozen[] = {
    {"Ice Cream 1L", 1050},    {"Frozen Peas", 480},    {"French Fries 1kg", 1150},
    {"Chicken Nuggets", 1350}, {"Frozen Paratha", 620}, {"Fish Fingers", 980},
};
static const syn_item household[] = {
    {"Dishwash Liquid", 420},      {"Detergent Powder 1kg", 690},
    {"Toilet Paper 4 Rolls", 520}, {"Bin Bags", 350},
    {"Floor Cleaner", 580},        {"Matches", 50},
    {"Mosquito Coils", 280},       {"Candles", 150},
};
static const syn_item personal[] = {
    {"Soap", 150},        {"Shampoo 180ml", 650}, {"Toothpaste 120g", 340}, {"Toothbrush", 220},
    {"Body Lotion", 890}, {"Talcum Powder", 420}, {"Deodorant", 780},       {"Razor", 320},
};

const syn_category syn_categories[SYN_MAX_CATEGORIES] = {
    {"Bakery", "bakery", 1.0, 0.30, 1.3, bakery, N(bakery)},
    {"Dairy", "dairy", 1.1, 0.22, 1.3, dairy, N(dairy)},
    {"Spreads & Breakfast", "spreads", 0.5, 0.25, 1.1, spreads, N(spreads)},
    {"Rice & Pulses", "rice", 1.2, 0.12, 1.2, rice, N(rice)},
    {"Pasta & Noodles", "pasta", 0.5, 0.25, 1.4, pasta, N(pasta)},
    {"Sauces & Condiments", "sauces", 0.5, 0.28, 1.1, sauces, N(sauces)},
    {"Spices", "spices", 0.7, 0.32, 1.1, spices, N(spices)},
    {"Beverages", "beverages", 1.0, 0.24, 1.4, beverages, N(beverages)},
    {"Snacks", "snacks", 0.9, 0.30, 1.5, snacks, N(snacks)},
    {"Fresh Produce", "produce", 1.3, 0.20, 1.6, produce, N(produce)},
    {"Meat & Fish", "meat", 0.8, 0.18, 1.2, meat, N(meat)},
    {"Canned & Packaged", "canned", 0.6, 0.22, 1.2, canned, N(canned)},
    {"Frozen", "frozen", 0.4, 0.26, 1.2, frozen, N(frozen)},
    {"Household", "household", 0.6, 0.30, 1.2, household, N(household)},
    {"Personal Care", "personal", 0.5, 0.38, 1.2, personal, N(personal)},
};

/* Category indices above: 0 bakery 1 dairy 2 spreads 3 rice 4 pasta 5 sauces 6 spices
 * 7 beverages 8 snacks 9 produce 10 meat 11 canned 12 frozen 13 household 14 personal. */
const syn_pair syn_category_pairs[] = {
    {0, 1, 0.60},   /* bread -> butter */
    {0, 2, 0.50},   /* bread -> jam */
    {4, 5, 0.60},   /* pasta -> sauce */
    {3, 6, 0.50},   /* rice -> curry powder */
    {3, 11, 0.40},  /* rice -> coconut milk */
    {7, 8, 0.45},   /* tea -> biscuits */
    {10, 9, 0.40},  /* chicken -> onions, chillies */
    {13, 14, 0.35}, /* detergent -> soap */
};
const uint32_t syn_n_category_pairs = N(syn_category_pairs);

const syn_named_pair syn_named_pairs[] = {
    {"Bread", "Butter"},
    {"Bread", "Jam"},
    {"Sandwich Bread", "Cheese Slices"},
    {"Sandwich Bread", "Peanut Butter"},
    {"Roast Paan", "Butter"},
    {"Roast Paan", "Kithul Treacle"},
    {"Tea Buns", "Fresh Milk 1L"},
    {"Croissant", "Chocolate Spread"},
    {"Spaghetti 500g", "Pasta Sauce"},
    {"Penne 500g", "Pasta Sauce"},
    {"Macaroni 500g", "Tomato Sauce"},
    {"Lasagne Sheets", "Pasta Sauce"},
    {"Instant Noodles", "Chilli Sauce"},
    {"Egg Noodles", "Soy Sauce"},
    {"Rice Noodles", "Soy Sauce"},
    {"Kottu Roti Pack", "Chilli Sauce"},
    {"Basmati Rice 5kg", "Cardamom 25g"},
    {"Basmati Rice 5kg", "Curry Powder 100g"},
    {"Samba Rice 5kg", "Curry Powder 100g"},
    {"Samba Rice 5kg", "Coconut Milk 400ml"},
    {"Red Rice 5kg", "Chilli Powder 100g"},
    {"Keeri Samba 5kg", "Turmeric 100g"},
    {"Nadu Rice 5kg", "Coconut Milk Powder 300g"},
    {"Red Dhal 1kg", "Turmeric 100g"},
    {"String Hoppers Flour 1kg", "Coconut Milk 400ml"},
    {"Ceylon Tea 400g", "Marie Biscuits"},
    {"Ceylon Tea 400g", "Cream Crackers"},
    {"Tea Bags 100", "Marie Biscuits"},
    {"Coffee 200g", "Chocolate Biscuits"},
    {"Cola 1.5L", "Potato Chips"},
    {"Ginger Beer 1.5L", "Potato Chips"},
    {"Chicken 1kg", "Big Onions 1kg"},
    {"Chicken 1kg", "Green Chillies 250g"},
    {"Tuna 500g", "Limes 250g"},
    {"Prawns 500g", "Limes 250g"},
    {"Mutton 500g", "Potatoes 1kg"},
    {"Detergent Powder 1kg", "Soap"},
    {"Toilet Paper 4 Rolls", "Toothpaste 120g"},
    {"Dishwash Liquid", "Soap"},
};
const uint32_t syn_n_named_pairs = N(syn_named_pairs);

const char *const syn_brands[] = {
    "Serendib", "Lanka Fresh", "Ceylon Gold", "Ruhunu", "Kandyan",  "Island Pride",
    "Sigiri",   "Lotus",       "Golden Palm", "Nuwara", "Paradise", "Mahaweli",
};
const uint32_t syn_n_brands = N(syn_brands);

/* The first ten are the spec's store cities, weighted roughly by population; the rest serve
 * worlds with more stores. */
const syn_city syn_cities[] = {
    {"Colombo", 0.28},      {"Gampaha", 0.14},      {"Kandy", 0.10},       {"Galle", 0.08},
    {"Jaffna", 0.07},       {"Negombo", 0.07},      {"Kurunegala", 0.07},  {"Matara", 0.07},
    {"Anuradhapura", 0.06}, {"Batticaloa", 0.06},   {"Trincomalee", 0.05}, {"Ratnapura", 0.05},
    {"Badulla", 0.04},      {"Nuwara Eliya", 0.03}, {"Kalutara", 0.05},    {"Hambantota", 0.03},
    {"Polonnaruwa", 0.03},  {"Vavuniya", 0.03},     {"Chilaw", 0.03},      {"Puttalam", 0.03},
    {"Kegalle", 0.04},      {"Matale", 0.03},       {"Ampara", 0.03},      {"Mannar", 0.02},
    {"Moratuwa", 0.05},
};
const uint32_t syn_n_cities = N(syn_cities);

static const char *const sinhala_m[] = {
    "Nimal",   "Sunil",    "Kasun",  "Chamara", "Ruwan",  "Dinesh", "Lahiru",   "Tharindu",
    "Pradeep", "Sanjeewa", "Mahesh", "Asanka",  "Kamal",  "Nuwan",  "Chathura", "Dilshan",
    "Isuru",   "Sampath",  "Gayan",  "Harsha",  "Janaka", "Upul",   "Thilina",  "Roshan",
};
static const char *const sinhala_f[] = {
    "Kavindi",    "Nadeeka", "Dilani",  "Chamari", "Sanduni", "Ishani", "Nimali",    "Tharushi",
    "Hiruni",     "Sachini", "Anusha",  "Nethmi",  "Dulani",  "Piumi",  "Madushani", "Sewwandi",
    "Chathurika", "Iresha",  "Shanika", "Yasodha", "Gayani",  "Erandi",
};
static const char *const sinhala_l[] = {
    "Perera",         "Fernando",     "Silva",       "de Silva",    "Jayawardena", "Bandara",
    "Wickramasinghe", "Gunawardena",  "Dissanayake", "Herath",      "Ranasinghe",  "Kumara",
    "Senanayake",     "Wijesinghe",   "Jayasuriya",  "Karunaratne", "Mendis",      "Rathnayake",
    "Weerasinghe",    "Samarasinghe", "Liyanage",    "Abeysekera",  "Gamage",      "Peiris",
    "Rodrigo",        "Wijeratne",
};
static const char *const tamil_m[] = {
    "Suresh",  "Kumar",  "Rajesh", "Arun",    "Karthik", "Ganesh",
    "Prakash", "Ramesh", "Vijay",  "Senthil", "Dinesh",  "Mathan",
};
static const char *const tamil_f[] = {
    "Priyanka", "Shalini", "Malini", "Geetha",    "Lakshmi", "Kavitha",
    "Anitha",   "Tharani", "Vasuki", "Dharshini", "Nirosha", "Sangeetha",
};
static const char *const tamil_l[] = {
    "Sivakumar",       "Rajendran", "Thevarajah", "Nadarajah",    "Kanagaratnam", "Selvarajah",
    "Balasubramaniam", "Ganeshan",  "Yogarajah",  "Arulanantham", "Murugan",      "Paramanathan",
};
static const char *const muslim_m[] = {
    "Mohamed", "Rizwan", "Fazal", "Imran", "Ashraf", "Nizam", "Farook", "Rishad", "Azeem", "Hakeem",
};
static const char *const muslim_f[] = {
    "Fathima", "Ayesha",   "Shifana", "Rukshana", "Fazeela",
    "Nuzra",   "Sajeetha", "Zainab",  "Rinoza",   "Hafsa",
};
static const char *const muslim_l[] = {
    "Cassim", "Marikar", "Hussain", "Ismail", "Ibrahim",
    "Saleem", "Rahuman", "Jaleel",  "Hameed", "Mohideen",
};

const syn_names syn_name_groups[] = {
    {sinhala_m, sinhala_f, sinhala_l, N(sinhala_m), N(sinhala_f), N(sinhala_l), 0.72},
    {tamil_m, tamil_f, tamil_l, N(tamil_m), N(tamil_f), N(tamil_l), 0.18},
    {muslim_m, muslim_f, muslim_l, N(muslim_m), N(muslim_f), N(muslim_l), 0.10},
};
const uint32_t syn_n_name_groups = N(syn_name_groups);

const char *const syn_segment_names[4] = {"frequent", "regular", "occasional", "rare"};
const char *const syn_type_names[PROMO_RESP_TYPE_COUNT] = {"persuadable", "sure_thing",
                                                           "lost_cause", "sleeping_dog"};
